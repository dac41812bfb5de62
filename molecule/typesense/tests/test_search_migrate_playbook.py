"""playbooks/search_migrate.yml failing loudly, through ansible-playbook (issue 15).

A migration that cannot reach Typesense (here: the API refuses the key) ends the run non-zero, with the
index and the reason printed at default verbosity, and the key itself masked. Runs first (pytest takes the
files in name order): it changes nothing the later tests read.
"""

from lab_playbook import playbook, task_output

WRONG_KEY = "not-the-typesense-key-0123456789"


def test_a_failed_migration_ends_non_zero_naming_the_index_and_the_reason():
    rc, out = playbook("search_migrate.yml", "-e", "private_ip=127.0.0.1",
                       "-e", f"search_typesense_api_key={WRONG_KEY}")
    assert rc != 0, out[-3000:]
    printed = task_output(out, "Move each index (Meilisearch or legacy Typesense -> cluster alias)")
    assert "migration of candidatures failed" in printed, out[-3000:]
    assert "401" in printed or "nauthori" in printed or "Forbidden" in printed, printed
    assert "output has been hidden" not in printed, printed
    assert WRONG_KEY not in out
    assert "failed=1" in out
