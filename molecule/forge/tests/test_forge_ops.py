"""Site shop (layout forge) operated the way Forge expects (issue #17, points 2, 4 and 5), after test_forge.py
has checked discovery on the untouched host: a deploy, connected as production connects to a Forge host (forge,
sudo with Forge's password), runs Forge's deploy script as forge and pulls the new commit; artisan runs in
/home/forge/shop.test as forge, logs.yml finds Forge's logs, env.yml changes one name of Forge's .env and keeps
every other line, forge_override merges the whole model keeping every name it lacks; a domain the host does not
serve and a rollback are refused before any change; Forge's files stay forge's, and no systemd unit, timer, user
or /srv/www of this repository appears. Tests run in file order (each builds on the one before)."""

import os

import pytest
import yaml
from lab_playbook import playbook, task_output

SITE_DIR = "/home/forge/shop.test"
INVENTORY = (os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]) if os.environ.get("MOLECULE_INVENTORY_FILE")
             else os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"), "inventory"))
ENV = SITE_DIR + "/.env"
PUSH = ("runuser -u forge -- sh -ec 'rm -rf /tmp/shop-work && git clone -q /srv/git/shop.git /tmp/shop-work"
        " && cd /tmp/shop-work && echo \"deployed by the forge scenario\" >> README.md"
        " && git -c user.name=Dev -c user.email=dev@localhost commit -qam \"Next release\""
        " && git push -q origin main && git rev-parse HEAD'")


@pytest.fixture(scope="module")
def fixed_model(tmp_path_factory):
    """The scenario's model with shop's php_version corrected to what discovery found (8.2), as the operator
    does after reading the report: extra vars (-e @file) over the scenario's group_vars."""
    with open(os.path.join(os.path.dirname(__file__), "..", "molecule.yml"), encoding="utf-8") as handle:
        sites = yaml.safe_load(handle)["provisioner"]["inventory"]["group_vars"]["all"]["sites"]
    sites["shop"]["php_version"] = "8.2"
    path = tmp_path_factory.mktemp("model") / "sites.yml"
    path.write_text(yaml.safe_dump({"sites": sites}))
    return "@%s" % path


@pytest.fixture(scope="module")
def as_forge(host, tmp_path_factory):
    """Production's connection to a Forge host (issue #17, point 5): log in as forge, sudo with the password Forge
    set (-K there; a root-only file of the container here), in a 0600 vars file so it never shows in a command."""
    path = tmp_path_factory.mktemp("forge") / "connection.yml"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump({"ansible_user": "forge",
                                    "ansible_become_password": host.check_output("cat /root/forge-sudo-password")}))
    return "@%s" % path


def head(host):
    return host.check_output("runuser -u forge -- git -C %s rev-parse HEAD" % SITE_DIR)


def assert_forge_owns_the_site(host):
    assert host.check_output("find %s ! -user forge -printf '%%p\\n' | head -5" % SITE_DIR) == ""
    env = host.file(ENV)
    assert (env.user, env.group, env.mode) == ("forge", "forge", 0o600)


def test_a_php_version_the_host_lacks_is_refused_before_any_change(host):
    before = host.check_output("/usr/local/sbin/forge-snapshot")
    rc, out = playbook("deploy.yml", "-e", "site=shop")
    assert rc != 0
    message = task_output(out, "laravel_app : Refuse a PHP version the Forge host does not have")
    assert "site shop, host mol-forge, field php_version (8.1): /usr/bin/php8.1 does not exist" in message, out[-3000:]
    assert host.check_output("/usr/local/sbin/forge-snapshot") == before


def test_deploy_runs_forges_script_as_forge_and_pulls_the_new_commit(host, fixed_model, as_forge):
    env_before = host.file(ENV).md5sum
    new = host.check_output(PUSH)
    assert head(host) != new
    # Connected as production connects to a Forge host: forge, then sudo with Forge's password.
    rc, out = playbook("deploy.yml", "-e", "site=shop", "-e", fixed_model, "-e", as_forge)
    assert rc == 0, out[-3000:]
    assert head(host) == new
    assert "Restarting FPM..." in task_output(out, "laravel_release : Show the deploy script's output"), out[-3000:]
    assert host.file(SITE_DIR + "/vendor/autoload.php").exists
    assert host.file(ENV).md5sum == env_before
    assert_forge_owns_the_site(host)
    assert host.run("git -C %s status --porcelain --untracked-files=no" % SITE_DIR).stdout == ""


def test_a_second_deploy_is_a_no_op(host, fixed_model):
    rc, out = playbook("deploy.yml", "-e", "site=shop", "-e", fixed_model)
    assert rc == 0, out[-3000:]
    assert "already checked out: nothing to do" in task_output(out, "laravel_release : Report what the deploy does (Forge site)")
    assert "changed=0" in out.split("PLAY RECAP")[-1].split("mol-forge")[1].splitlines()[0]


def test_artisan_runs_in_forges_site_directory_as_forge(host, fixed_model):
    rc, out = playbook("artisan.yml", "-e", "site=shop", "-e", "cmd=env", "-e", fixed_model)
    assert rc == 0, out[-3000:]
    assert "production" in task_output(out, "Show its output"), out[-3000:]
    assert_forge_owns_the_site(host)


def test_logs_reads_forges_files(host, fixed_model):
    rc, out = playbook("logs.yml", "-e", "site=shop", "-e", "lines=5", "-e", fixed_model)
    assert rc == 0, out[-3000:]
    printed = task_output(out, "Print them")
    assert "nginx error (/var/log/nginx/shop.test-error.log)" in printed, out[-3000:]
    assert "worker worker-101 (/home/forge/.forge/worker-101.log)" in printed, out[-3000:]
    assert "/srv/www" not in out


def test_env_change_writes_one_name_and_keeps_every_other_line(host, fixed_model):
    before = host.file(ENV).content_string
    rc, out = playbook("env.yml", "-e", "site=shop", "-e", '{"set": {"MAIL_FROM_NAME": "Boutique test"}}', "-e", fixed_model)
    assert rc == 0, out[-3000:]
    after = host.file(ENV).content_string
    assert after == before + 'MAIL_FROM_NAME="Boutique test"\n'
    report = task_output(out, "laravel_app : Report the Forge .env")
    assert "written" in report and "added: MAIL_FROM_NAME" in report, out[-3000:]
    # Names the model does not know are kept and listed (never their values).
    assert "APP_KEY" in report and "DB_PASSWORD" in report and "base64:" not in out
    assert_forge_owns_the_site(host)
    # Put back: unset removes the name, the file is Forge's again byte for byte.
    rc, out = playbook("env.yml", "-e", "site=shop", "-e", '{"unset": ["MAIL_FROM_NAME"]}', "-e", fixed_model)
    assert rc == 0, out[-3000:]
    assert host.file(ENV).content_string == before
    assert_forge_owns_the_site(host)


@pytest.fixture
def forge_env_put_back(host):
    """Forge's .env as it was, byte for byte, after the test (its owner and mode are checked before)."""
    host.check_output("cp -p %s /root/shop.env.orig" % ENV)
    yield host.file(ENV).content_string
    host.check_output("cat /root/shop.env.orig > %s && rm /root/shop.env.orig" % ENV)


def test_forge_override_merges_the_model_and_keeps_every_name_it_lacks(host, fixed_model, forge_env_put_back):
    # Point 4: the whole model written with forge_override (apps.yml, no deploy): its names take the model's values,
    # every other line (the secrets the model has no vault for here, APP_DEBUG's neighbours...) stays where it was.
    before = forge_env_put_back
    rc, out = playbook("apps.yml", "-e", "apps_only_site=shop", "-e", "apps_deploy=false", "-e", "forge_override=true",
                       "-e", fixed_model)
    assert rc == 0, out[-3000:]
    report = task_output(out, "laravel_app : Report the Forge .env")
    assert "written" in report and "APP_NAME" in report.split("changed:")[1].split(";")[0], out[-3000:]
    kept = report.split("gardés, inconnus du modèle:")[1]
    assert "APP_KEY" in kept and "DB_PASSWORD" in kept and "base64:" not in out
    after = host.file(ENV).content_string.splitlines()
    assert "APP_NAME=Shop" in after
    names = [line.split("=", 1)[0] for line in after if "=" in line]
    unknown_to_the_model = {"APP_KEY", "DB_PASSWORD"}  # names only: no vault holds them in this scenario
    for line in before.splitlines():
        if line.split("=", 1)[0] in unknown_to_the_model:
            assert line in after  # kept verbatim
    # Forge's order kept: the names the file had come first, in the same order.
    had = [line.split("=", 1)[0] for line in before.splitlines() if "=" in line]
    assert names[:len(had)] == had
    assert_forge_owns_the_site(host)


def test_a_domain_the_host_does_not_serve_is_refused_before_any_change(host):
    # Not the whole snapshot: Forge's worker, running since the deploy, writes in shop's storage meanwhile.
    before = host.file(ENV).md5sum
    rc, out = playbook("env.yml", "-e", "site=docs", "-e", '{"set": {"MAIL_FROM_NAME": "Docs"}}')
    assert rc != 0
    message = task_output(out, "laravel_app : Refuse a domain this host does not serve as a Forge site")
    assert "site docs, host mol-forge, field domains: /home/forge/docs.test does not exist" in message, out[-3000:]
    assert host.file(ENV).md5sum == before and not host.file("/home/forge/docs.test").exists
    # Refused before the controller's override file of the site is written either.
    assert not os.path.exists(os.path.join(INVENTORY, "site_env", "docs.yml"))


def test_rollback_of_a_forge_site_is_refused_with_its_reason(host, fixed_model):
    before = (head(host), host.file(ENV).md5sum)
    rc, out = playbook("rollback.yml", "-e", "site=shop", "-e", fixed_model)
    assert rc != 0
    message = task_output(out, "laravel_release : Refuse the rollback of a Forge site")
    assert "site shop, host mol-forge, field layout (forge): no rollback of a Forge site here" in message, out[-3000:]
    assert "revert the commit on that branch, push, then deploy.yml -e site=shop" in message
    assert (head(host), host.file(ENV).md5sum) == before


@pytest.mark.parametrize("path", ["/etc/systemd/system/shop-worker@.service", "/etc/systemd/system/shop-scheduler.timer",
                                  "/etc/systemd/system/shop-scheduler.service", "/etc/laravel-workers", "/srv/www"])
def test_nothing_of_ours_beside_forges_workers_and_scheduler(host, path):
    assert not host.file(path).exists


def test_forges_worker_and_scheduler_are_still_the_only_ones(host):
    units = host.check_output("systemctl list-units --all --plain --no-legend 'shop*' 'php-fpm-site@*'")
    assert units == ""
    assert not host.user("shop").exists
    # (FATAL here before the first deploy: the worker needs vendor/, which the test app gets from composer.)
    assert "worker-101" in host.run("supervisorctl status").stdout
    assert "schedule:run" in host.check_output("crontab -l -u forge")
