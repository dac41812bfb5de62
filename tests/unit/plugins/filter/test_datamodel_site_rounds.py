"""site_rounds: the sites of a play's hosts grouped so that different hosts converge their sites together."""

from ansible_collections.infra.hosting.plugins.filter import datamodel

SITES = {
    "shop": {"hosts": ["whc"]},
    "blog": {"hosts": ["whc"]},
    "news": {"hosts": ["whc"]},
    "talent": {"hosts": ["web_01", "web_02"]},
    "spot": {"hosts": ["whc_2"]},
    "mails": {"hosts": ["aws_01"]},
    "old": {"hosts": ["web_01"], "status": "retired"},
}
PLAY = ["whc", "whc_2", "aws_01", "web_01", "web_02"]


def host_sites(rounds):
    """What each host converges, round after round."""
    out = {}
    for current in rounds:
        for host, site in current.items():
            out.setdefault(host, []).append(site)
    return out


def test_as_many_rounds_as_the_busiest_host_has_sites():
    rounds = datamodel.site_rounds(SITES, PLAY)
    assert len(rounds) == 3
    assert sorted(host_sites(rounds)["whc"]) == ["blog", "news", "shop"]


def test_each_host_converges_each_of_its_sites_once():
    rounds = datamodel.site_rounds(SITES, PLAY)
    assert {h: sorted(s) for h, s in host_sites(rounds).items()} == {
        "whc": ["blog", "news", "shop"], "whc_2": ["spot"], "aws_01": ["mails"],
        "web_01": ["talent"], "web_02": ["talent"]}


def test_a_site_on_several_hosts_is_in_one_round_on_all_of_them():
    rounds = datamodel.site_rounds(SITES, PLAY)
    with_talent = [r for r in rounds if "talent" in r.values()]
    assert len(with_talent) == 1
    assert with_talent[0]["web_01"] == with_talent[0]["web_02"] == "talent"


def test_shared_sites_keep_their_hosts_together_when_hosts_overlap():
    sites = {"a": {"hosts": ["h1", "h2"]}, "b": {"hosts": ["h2", "h3"]}, "c": {"hosts": ["h1"]},
             "d": {"hosts": ["h3"]}}
    rounds = datamodel.site_rounds(sites, ["h1", "h2", "h3"])
    for name, site in sites.items():
        holding = [r for r in rounds if name in r.values()]
        assert len(holding) == 1 and sorted(h for h, s in holding[0].items() if s == name) == site["hosts"]
    assert len(rounds) == 2


def test_hosts_outside_the_play_and_retired_sites_are_left_out():
    rounds = datamodel.site_rounds(SITES, ["web_01"])
    assert rounds == [{"web_01": "talent"}]
    assert datamodel.site_rounds(SITES, []) == []
    assert datamodel.site_rounds({}, PLAY) == []


def test_the_same_rounds_whatever_the_order_of_the_input():
    reverse = dict(reversed(list(SITES.items())))
    assert datamodel.site_rounds(reverse, PLAY) == datamodel.site_rounds(SITES, PLAY)
    # hosts of a round in the play's order
    assert list(datamodel.site_rounds(SITES, PLAY)[0]) == [h for h in PLAY if h in datamodel.site_rounds(SITES, PLAY)[0]]
