"""Pure logic of roles/laravel_release (filter_plugins/laravel_release.py): refs, release ids, retention."""

import pytest

from role_filters import load

lr = load("laravel_release")

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_pick_sha():
    out = f"{SHA}\trefs/heads/main\n{'1' * 40}\trefs/tags/v2\n{'2' * 40}\trefs/tags/v2^{{}}\n"
    assert lr.laravel_release_pick_sha(out, "main") == SHA
    assert lr.laravel_release_pick_sha(out, "v2") == "2" * 40
    assert lr.laravel_release_pick_sha(out, "nope") == ""
    assert lr.laravel_release_pick_sha("", "abcdef1") == "abcdef1"


def test_release_id():
    assert lr.laravel_release_make_id("20261124221500", SHA) == "20261124221500-0123456"
    with pytest.raises(ValueError):
        lr.laravel_release_make_id("2026", SHA)


def test_releases_to_delete_keeps_current_and_previous():
    rel = [f"2026010100000{i}-abcdef{i}" for i in range(7)]
    assert lr.laravel_release_to_delete(rel, 3) == rel[:4]
    # after a rollback, current and previous may be old: never deleted
    assert lr.laravel_release_to_delete(rel, 3, current=rel[0], previous=rel[1]) == rel[2:4]
    assert lr.laravel_release_to_delete(rel[:2], 5) == []
    assert lr.laravel_release_to_delete(rel + ["current.new-x", "junk"], 1) == rel[:5]


def test_previous_release():
    rel = ["20260101000003-aaaaaaa", "20260101000001-bbbbbbb", "20260101000002-ccccccc"]
    assert lr.laravel_release_before(rel, "20260101000003-aaaaaaa") == "20260101000002-ccccccc"
    assert lr.laravel_release_before(rel, "20260101000001-bbbbbbb") == ""
