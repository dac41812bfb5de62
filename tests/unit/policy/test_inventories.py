"""Both inventories model today's servers and the new nodes, with every database and application of the seed."""

import json
import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
SEED_DATABASES = {
    "aeroemploi_prod", "aerotalent", "aerotechnologie", "aerotechnology", "aeroweb_dev", "aeroweb_staging",
    "blcpa", "inscriptionuqac_prod", "mail_aeroemploi_prod", "mail_blcpa_prod", "mail_placementspot_prod",
    "placementspot_dev", "placementspot_prod", "scraping", "sms_aeroemploi_prod", "campaigns",
}
SEED_SITES = {
    "aeroemploi", "aerotalent", "aerotechnologie", "aeroweb", "aeroweb_dev", "aeroweb_staging",
    "blcpa", "inscription_uqac", "placementspot", "aeromails", "scraping",
}
GROUPS = {"web", "lb", "mysql", "postgresql", "typesense", "meilisearch", "mail", "redis", "forge_managed"}


def tool(name):
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name)


def inventory(env, tmp_path_factory=None):
    """`ansible-inventory --list`; production runs with no vault password at all (an empty config)."""
    environ = dict(os.environ)
    if env == "production":
        empty = ROOT / ".cache" / "empty-ansible.cfg"
        empty.parent.mkdir(exist_ok=True)
        empty.write_text("[defaults]\n")
        environ["ANSIBLE_CONFIG"] = str(empty)
    out = subprocess.run(
        [tool("ansible-inventory"), "-i", f"inventories/{env}", "--list", "--export"],
        cwd=ROOT, check=True, capture_output=True, text=True, env=environ,
    ).stdout
    return json.loads(out)


def group_vars(env, name):
    return yaml.safe_load((ROOT / "inventories" / env / "group_vars" / "all" / f"{name}.yml").read_text())


@pytest.fixture(scope="module", params=["production", "lab"])
def env(request):
    return request.param


def test_production_inventory_loads_without_the_vault():
    data = inventory("production")
    assert set(data["forge_managed"]["hosts"]) == {"whc", "whc_2", "aws_01"}


def test_groups_and_hosts(env):
    data = inventory(env)
    assert GROUPS <= set(data)
    assert {"whc", "whc_2", "aws_01", "lb_01", "web_01", "web_02"} <= set(data["_meta"]["hostvars"])
    # Two load balancers sharing a floating address and a replicated Redis (#19), in both.
    assert set(data["lb"]["hosts"]) == {"lb_01", "lb_02"}
    assert set(data["redis"]["hosts"]) == {"redis_01", "redis_02"}
    assert {"web_01", "web_02"} <= set(data["web"]["hosts"])
    assert len(data["typesense"]["hosts"]) == 3
    assert "whc" in data["mysql"]["hosts"] and "aws_01" in data["mysql"]["hosts"]
    assert data["postgresql"]["hosts"] == ["whc"]


def test_every_seed_database_is_modelled(env):
    dbs = group_vars(env, "databases")["databases"]
    assert set(dbs) == SEED_DATABASES
    assert {n for n, d in dbs.items() if d["engine"] == "postgresql"} == {"aerotalent", "aeroweb_dev", "aeroweb_staging"}
    assert dbs["campaigns"]["host"] == "aws_01"
    # The lab's sites use the replicated tier (#18): blcpa's and aeroweb_staging's databases live there.
    on_tier = {"blcpa", "mail_blcpa_prod", "aeroweb_staging"} if env == "lab" else set()
    assert {n for n, d in dbs.items() if d["host"] == "db_01"} == on_tier
    assert {d["host"] for n, d in dbs.items() if n != "campaigns" and n not in on_tier} == {"whc"}


def test_every_seed_application_is_modelled(env):
    sites = group_vars(env, "sites")["sites"]
    assert set(sites) == SEED_SITES
    assert set(sites["aeroemploi"]["databases"]) >= {"aeroemploi_prod", "mail_aeroemploi_prod", "sms_aeroemploi_prod"}
    assert "mail_blcpa_prod" in sites["blcpa"]["databases"]
    assert sites["placementspot"]["hosts"] == ["whc_2"]
    assert sites["aeromails"]["hosts"] == ["aws_01"] and sites["aeromails"]["databases"] == ["campaigns"]


def test_both_inventories_have_the_same_shape():
    prod, lab = inventory("production"), inventory("lab")
    # security_exempt is declared in both, empty in production (ansible-inventory lists no empty group).
    lab_only = {"lab_services", "lab_hosts", "security_exempt"}
    assert set(prod) - lab_only == set(lab) - lab_only
    for name in ("sites", "databases"):
        assert set(group_vars("production", name)[name]) == set(group_vars("lab", name)[name])


def test_lab_is_reached_as_production_is():
    """SSH as an admin of the data model, with sudo (docs/lab.md); podman only in lab/bootstrap.yml."""
    data = inventory("lab")
    group = data["lab_hosts"]
    assert set(group["hosts"]) == set(data["_meta"]["hostvars"])
    hostvars = yaml.safe_load((ROOT / "inventories" / "lab" / "hosts.yml").read_text())["all"]["children"]["lab_hosts"]["vars"]
    assert hostvars["ansible_connection"] == "ansible.builtin.ssh" and hostvars["ansible_become"] is True
    admins = group_vars("lab", "admins")["admins"]
    assert hostvars["ansible_user"] in {a["name"] for a in admins}


def test_production_unknowns_are_marked_not_invented():
    data = inventory("production")
    for host, hostvars in data["_meta"]["hostvars"].items():
        assert hostvars["ansible_host"] == "TO-FILL", host
    for name, site in group_vars("production", "sites")["sites"].items():
        assert site["repo"].startswith("TO-CONFIRM"), name
        assert all(d.endswith(".to-confirm.invalid") for d in site["domains"]), name
    for domain, entry in group_vars("production", "dns")["dns_domains"].items():
        assert entry["confirmed"] is False, domain


def test_every_domain_has_its_dns_entry(env):
    sites = group_vars(env, "sites")["sites"]
    dns = group_vars(env, "dns")["dns_domains"]
    assert {d for s in sites.values() for d in s["domains"]} == set(dns)


def test_lab_secrets_are_vault_encrypted():
    for path in (ROOT / "inventories").rglob("vault*.yml"):
        assert path.read_text().startswith("$ANSIBLE_VAULT;"), path
