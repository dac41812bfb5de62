"""infra-db-backup writes <stamp>.rowcounts.json beside each scheduled dump (db_restore.yml compares it):
its counts_json helper turns the sorted "table<TAB>rows" lines into the JSON db_retire writes."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles/db_backup/templates/usr/local/sbin/infra-db-backup.j2"


def counts_json(lines):
    text = SCRIPT.read_text(encoding="utf-8")
    function = re.search(r"^counts_json\(\) \{.*?^\}$", text, re.S | re.M).group(0)
    out = subprocess.run(["bash", "-c", function + "\ncounts_json"], input=lines, capture_output=True,
                         text=True, check=True, timeout=10)
    return json.loads(out.stdout)


@pytest.mark.skipif(shutil.which("awk") is None, reason="awk missing")
def test_counts_json_reads_table_tab_rows():
    assert counts_json("items\t100\npublic.events\t7\n") == {"items": 100, "public.events": 7}


@pytest.mark.skipif(shutil.which("awk") is None, reason="awk missing")
def test_counts_json_of_no_table_is_an_empty_object():
    assert counts_json("\n") == {}


@pytest.mark.skipif(shutil.which("awk") is None, reason="awk missing")
def test_counts_json_escapes_quotes_and_backslashes():
    assert counts_json('we"ird\\name\t3\n') == {'we"ird\\name': 3}
