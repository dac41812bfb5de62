"""playbooks/add_node.yml through ansible-playbook, as an operator runs it (issue 19).

Bad input is refused with its reason before any host is touched (no facts gathered, no play on a
node or a load balancer); a node already in service (mol-lb-web-3, added by side_effect.yml) is a
no-op, in --check too. The blank node brought all the way into service is the lab's bench
(tests/bench/add_node_blank.py): this scenario's nodes run a stand-in backend, not the web tier.
"""

import os
import re

import pytest
import testinfra
from lab_playbook import playbook

testinfra_hosts = ["ansible://mol-lb-lb"]
HOSTS = ["mol-lb-lb", "mol-lb-web-1", "mol-lb-web-2", "mol-lb-web-3", "mol-lb-redis"]

NODE = ("-e", "node=mol-lb-web-3", "-e", '{"node_sites": ["aerotalent"]}', "-e", "add_node_base=false")


@pytest.fixture(scope="module")
def addresses(tmp_path_factory):
    """The scenario's private_ip comes from the facts, which a run without a fact-gathering play
    (an operator's, on an inventory that writes the addresses) does not have: an inventory with them."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    lines = ["all:", "  hosts:"]
    for name in HOSTS:
        address = testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}").check_output("hostname -I").split()[0]
        lines.append(f"    {name}: {{private_ip: {address}}}")
    path = tmp_path_factory.mktemp("inventory") / "addresses.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return (path,)


def recap(out):
    found = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M)
    return {name: (int(changed), int(unreachable), int(failed)) for name, changed, unreachable, failed in found}


@pytest.mark.parametrize("extra, reason", [
    (("-e", "node=web_99"), "web_99: not a host of group web"),
    (("-e", "node=web_99", "-e", "node_ip=TO-FILL"), "web_99: private_ip missing or not an IPv4 address"),
    (("-e", "node=mol-lb-web-3", "-e", '{"node_sites": ["nosuchsite"]}'), "node_sites: nosuchsite: no such site"),
    # Provisioning serves the data model's sites only: a site it does not put on the node is refused.
    (("-e", "node=mol-lb-web-3", "-e", '{"node_sites": ["aerotalent"]}'), "mol-lb-web-3 is not in the hosts of aerotalent"),
], ids=["unknown node", "no private address", "no such site", "site not on the node"])
def test_bad_input_is_refused_with_its_reason_before_any_host_is_touched(addresses, extra, reason):
    rc, out = playbook("add_node.yml", *extra, inventories=addresses)
    assert rc != 0, out[-3000:]
    assert reason in " ".join(out.split()), out[-3000:]
    # Nothing ran past the checks: no facts gathered, no play on a node or a load balancer.
    assert "Gathering Facts" not in out and "PLAY [Load balancers]" not in out, out[-3000:]


def test_a_node_in_service_is_a_no_op_also_in_check_mode(addresses):
    for extra in ((), ("--check", "--diff")):
        rc, out = playbook("add_node.yml", *NODE, *extra, inventories=addresses)
        assert rc == 0, out[-3000:]
        counts = recap(out)
        assert "mol-lb-lb" in counts and "mol-lb-web-3" in counts, out[-3000:]
        assert all(c == (0, 0, 0) for c in counts.values()), counts
