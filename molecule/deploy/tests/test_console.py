"""The console in Chromium, as its users see it (issue #16's "Done when"), in file order:
sign-in; a viewer's deploy refused (403) and nothing runs; a bad ref refused before any run; a deployer's
deploy of the test app streaming with its progress and summary, a second deploy of the same site refused
while it runs; the history with the person's name and the audit line on the host; the notifications in the
SMTP sink and the HTTP receiver; an env change with its diff reaching shared/.env; a secret key refused;
the dashboard read from the host (and its live part refreshed by htmx); a cleanup plan shown as a table;
artisan from the allow-list; a retirement refused by the name check, then by the playbook itself; logs with follow.

Part of the deploy scenario (its converged web node and git server; no converge of its own), and its first
file: the console meets the site as converge left it (`main` live). It ends with `main` live again (its
rollback), and test_deploy.py's story follows."""

import json
import os
import socket
import subprocess
import time

from console_fixtures import PASSWORD, VAULT_PASSWORD_FILE, console, people, shot, smtp_sink, webhook  # noqa: F401 (fixtures)
from lab_playbook import release_before_live
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

# Every test takes `host` (one parametrization for all): pytest then keeps them in file order.
testinfra_hosts = ["mol-deploy-web"]
ENV = "/srv/www/demo/shared/.env"


def releases(host):
    return host.check_output("ls -1 /srv/www/demo/releases | wc -l")


def run_to_the_end(browser, button, seconds=300):
    """Click `button`, follow to the run's page, wait for its summary; the run's state must be successful."""
    browser.click(button)
    browser.wait(lambda: "/runs/" in browser.driver.current_url, 30)
    summary = browser.wait(lambda: browser.text("#summary"), seconds)
    assert browser.text("#state") == "successful", summary + "\n" + browser.text("#log")[-3000:]
    return summary


def history_rows(browser):
    browser.get("/runs/")
    return [row.text for row in browser.find("table.runs tbody tr[data-run]")]


def test_sign_in_shows_the_site(people, host):
    admin = people("admin")
    admin.get("/")
    assert "demo" in admin.text("#sites") and "demo.lab.test" in admin.text("#sites")
    assert "admin · admin" in admin.text("#who")


def test_wrong_password_is_refused(console, host):
    from browser import Browser

    stranger = Browser(console["base"])
    try:
        stranger.get("/login/")
        stranger.fill("id_username", "dana")
        stranger.fill("id_password", "not-the-password")
        stranger.click("signin")
        # (waited for: reading the page while it reloads raises, wait() retries)
        stranger.wait(lambda: "identifiants refusés" in stranger.text(), 20)
        assert "/login/" in stranger.driver.current_url
    finally:
        stranger.quit()


def test_viewer_deploy_is_refused_and_nothing_runs(people, host):
    before = releases(host)
    victor = people("victor")
    victor.get("/sites/demo/")
    assert "can look but not act" in victor.text()
    victor.click("deploy")
    victor.wait(lambda: "403" in victor.text() or "Forbidden" in victor.text(), 20)
    assert history_rows(victor) == []
    assert releases(host) == before


def test_bad_ref_is_refused_before_any_run(people, host):
    dana = people("dana")
    dana.get("/sites/demo/")
    dana.fill("ref", "main..oops")
    dana.click("deploy")
    dana.wait(lambda: "git check-ref-format" in dana.text(".messages"), 20)
    assert history_rows(dana) == []


def test_deploy_streams_its_output_progress_and_summary(people, host):
    dana = people("dana")
    dana.get("/sites/demo/")
    dana.fill("ref", "v2")
    dana.click("deploy")
    dana.wait(lambda: "/runs/" in dana.driver.current_url, 30)
    run_url = dana.driver.current_url
    # The output arrives while the run is still going.
    dana.wait(lambda: "TASK [" in dana.text("#log") and dana.text("#state") == "running", 240)
    dana.wait(lambda: "Task " in dana.text("#task-count") and dana.find("#hosts"), 60)
    # The picture of a deploy streaming (docs/img): once the release is being built, if it still runs then.
    dana.wait(lambda: "Build" in dana.text("#log") or dana.text("#state") != "running", 120, step=0.2)
    if dana.text("#state") == "running":
        shot(dana, "console-deploy-streaming.png")

    # A second deploy of the same site while this one runs: refused with a clear message, nothing started.
    admin = people("admin")
    admin.get("/sites/demo/")
    admin.click("deploy")
    admin.wait(lambda: admin.find(".messages li.error"), 20)
    message = admin.text(".messages")
    assert "is running" in message or "is queued" in message, message
    assert "nothing was started" in message

    dana.driver.get(run_url)
    summary = dana.wait(lambda: dana.text("#summary"), 600)
    shot(dana, "console-deploy-done.png")
    assert dana.text("#state") == "successful", summary + "\n" + dana.text("#log")[-3000:]
    assert "deployed" in summary and "(v2)" in summary and "mol-deploy-web" in summary, summary
    assert "health check OK" in summary
    assert "mol-deploy-web" in dana.text("#hosts")
    sha = host.check_output("cat /srv/www/demo/current/REVISION")
    assert sha[:7] in summary


def search_history(browser, site="", actor="", kind=""):
    """The history's search form, filled and sent as a person does; the rows found."""
    browser.get("/runs/")
    browser.fill("q-site", site)
    browser.fill("q-actor", actor)
    Select(browser.driver.find_element(By.ID, "q-kind")).select_by_value(kind)
    browser.click("search")
    query = f"?site={site}&actor={actor}&kind={kind}"
    browser.wait(lambda: browser.driver.current_url.endswith(query), 20)
    return [row.text for row in browser.find("table.runs tbody tr[data-run]")]


def test_history_shows_the_run_with_the_person(people, host):
    viewer = people("victor")
    rows = search_history(viewer, site="demo", actor="dana", kind="deploy")
    assert len(rows) == 1 and "dana" in rows[0] and "successful" in rows[0] and "v2" in rows[0]
    assert len(search_history(viewer, site="dem", actor="dan")) == 1  # parts of names find it too
    assert search_history(viewer, actor="nobody") == []
    assert search_history(viewer, site="other-site") == []
    # The admin's refused second deploy started nothing: only dana's run is in the history.
    assert search_history(viewer, actor="admin") == []


def test_audit_log_on_the_host_names_the_person(host):
    lines = [json.loads(line) for line in host.check_output("cat /var/log/infra-audit.log").splitlines() if line]
    deploys = [line for line in lines if line["action"] == "deploy" and line["target"] == "demo"]
    assert deploys and deploys[-1]["actor"] == "dana" and deploys[-1]["details"]["ref"] == "v2"


def test_notifications_reach_the_smtp_sink_and_the_webhook(smtp_sink, webhook, people, host):
    mails, hooks = smtp_sink[1], webhook[1]
    assert any("ops@example.test" in m["to"] and "[OK] deploy demo by dana" in m["data"] for m in mails), mails
    assert any("[OK] deploy demo by dana" in h.get("text", "") for h in hooks), hooks


def test_env_change_shows_its_diff_and_reaches_the_host(people, host):
    dana = people("dana")
    dana.get("/sites/demo/")
    dana.fill("env-set", "FEATURE_CONSOLE=on")
    dana.click("env-preview")
    diff = dana.wait(lambda: dana.text("#diff"), 20)
    assert "+FEATURE_CONSOLE=on" in diff
    run_to_the_end(dana, "env-apply", 600)
    assert 'FEATURE_CONSOLE="on"' in host.check_output(f"cat {ENV}")


def test_secret_key_is_refused_with_the_vault_procedure(people, host):
    before = host.check_output(f"sha256sum {ENV}")
    runs = len(history_rows(people("admin")))
    dana = people("dana")
    dana.get("/sites/demo/")
    dana.fill("env-set", "STRIPE_SECRET=abc")
    dana.click("env-preview")
    message = dana.wait(lambda: dana.text(".messages"), 20)
    assert "STRIPE_SECRET" in message and "ansible-vault edit" in message
    assert len(history_rows(people("admin"))) == runs
    assert host.check_output(f"sha256sum {ENV}") == before


def test_rollback_puts_the_previous_release_back(people, host):
    previous = release_before_live(host)
    dana = people("dana")
    dana.get("/sites/demo/")
    summary = run_to_the_end(dana, "rollback")
    assert f"rolled demo back to {previous}" in summary, summary
    assert host.check_output("basename $(readlink /srv/www/demo/current)") == previous


def test_dashboard_reads_the_host(people, host):
    admin = people("admin")
    admin.get("/")
    run_to_the_end(admin, "refresh")
    admin.get("/")
    row = admin.text("#sites tr[data-site=demo]")
    release = host.check_output("basename $(readlink /srv/www/demo/current)")
    assert release in row and "200" in row and "rollback successful" in row and "dana" in row
    # The live part refreshes itself (htmx polling), the page is not reloaded.
    admin.driver.execute_script("document.body.dataset.loaded = 'once'")
    shown = admin.text("#refreshed")
    admin.wait(lambda: admin.text("#refreshed") != shown, 30)
    assert admin.driver.execute_script("return document.body.dataset.loaded") == "once"
    assert release in admin.text("#sites tr[data-site=demo]")
    shot(admin, "console-dashboard.png")


def test_cleanup_plan_is_shown_as_a_table(people, host):
    admin = people("admin")
    admin.get("/cleanup/")
    run_to_the_end(admin, "plan-site_cleanup")
    admin.driver.refresh()
    admin.wait(lambda: admin.find("table.plan"), 20)
    # The live site is kept: counted in the host's summary, never listed for removal.
    assert "Plan on mol-deploy-web" in admin.text() and "kept: 7" in admin.text(), admin.text()
    assert "demo" not in " ".join(plan.text for plan in admin.find("table.plan"))
    # A deployer may not open it.
    dana = people("dana")
    dana.get("/cleanup/")
    assert "403" in dana.text() or "Forbidden" in dana.text()


def test_artisan_runs_a_command_of_the_allow_list(people, host):
    dana = people("dana")
    dana.get("/sites/demo/")
    Select(dana.driver.find_element(By.ID, "cmd")).select_by_visible_text("route:list")
    summary = run_to_the_end(dana, "artisan")
    assert "artisan of demo done on mol-deploy-web in" in summary, summary
    assert "HealthController" in dana.text("#log")  # the command's own output, as artisan printed it
    shot(dana, "console-artisan.png")
    lines = [json.loads(line) for line in host.check_output("cat /var/log/infra-audit.log").splitlines() if line]
    runs = [line for line in lines if line["action"] == "artisan" and line["target"] == "demo"]
    assert runs and runs[-1]["actor"] == "dana" and runs[-1]["details"]["cmd"] == "route:list"


def test_retirement_needs_the_name_and_shows_the_playbooks_refusal(people, host):
    admin = people("admin")
    admin.get("/cleanup/")
    admin.fill("retire-name", "demo")
    admin.fill("retire-confirm", "dem0")
    admin.click("retire")
    admin.wait(lambda: "Type the exact name" in admin.text(".messages"), 20)
    admin.fill("retire-name", "demo")
    admin.fill("retire-confirm", "demo")
    admin.click("retire")
    admin.wait(lambda: "/runs/" in admin.driver.current_url, 30)
    summary = admin.wait(lambda: admin.text("#summary"), 300)
    # site_cleanup.yml's own refusal (site_retire: the site is still in the data model), shown as it is.
    assert admin.text("#state") == "failed", summary
    assert "still claimed by the data model" in summary and "still claimed by the data model" in admin.text("#log")
    shot(admin, "console-retire-refused.png")
    assert host.file("/srv/www/demo/current").exists


def test_vault_password_is_never_stored_or_shown(console, people, host):
    """The console got the vault password file's path (CONSOLE_VAULT_PASSWORD_FILE): the password itself is in
    none of its files (database, queue, runs' artifacts, its log) nor in any page. Nor is the first admin's
    password (CONSOLE_ADMIN_PASSWORD), which ansible-runner would otherwise copy from the worker's environment
    into every run's artifacts."""
    password = open(VAULT_PASSWORD_FILE, "rb").read().strip()
    assert len(password) >= 8
    found = []
    for folder, _dirs, files in os.walk(console["data"]):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                content = handle.read()
            found += [(path, what) for what, secret in (("vault", password), ("admin", PASSWORD["admin"].encode()))
                      if secret in content]
    assert found == [], found
    admin = people("admin")
    for page in ("/", "/runs/", "/sites/demo/", "/cleanup/", "/runs/1/", "/runs/1/output.txt"):
        admin.get(page)
        assert password.decode() not in admin.driver.page_source, page
    assert any(os.path.isdir(os.path.join(console["data"], "runs", str(n), "artifacts")) for n in (1, 2))


def test_console_listens_on_loopback_only(console, host):
    """Started without CONSOLE_BIND (only a free port): scripts/console.sh's default address is loopback."""
    port = console["port"]
    listening = [line.split()[3] for line in subprocess.run(["ss", "-ltnH"], capture_output=True, text=True,
                                                             check=True).stdout.splitlines()
                 if line.split()[3].rsplit(":", 1)[-1] == str(port)]
    assert listening and all(address == f"127.0.0.1:{port}" for address in listening), listening
    for address in subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=True).stdout.split():
        if ":" in address:
            continue
        with socket.socket() as sock:
            sock.settimeout(5)
            assert sock.connect_ex((address, port)) != 0, f"the console answers on {address}:{port}"


def test_logs_show_the_last_lines_then_follow(people, host):
    """Last in the file: following starts new logs.yml runs until the page is left."""
    dana = people("dana")
    dana.get("/sites/demo/")
    dana.fill("lines", "5")
    dana.driver.find_element(By.ID, "follow").click()
    run_to_the_end(dana, "logs")
    first = dana.driver.current_url
    assert "follow=" in first and dana.find("#following")
    assert "nginx access" in dana.text("#log") and "workers and scheduler" in dana.text("#log")
    # A request reaches the site's access log; the next reading (a new run, started by the page) shows it.
    marker = f"/console-follow-{int(time.time())}"
    host.check_output(f"curl -s -o /dev/null -H 'Host: demo.lab.test' http://127.0.0.1{marker}")
    dana.wait(lambda: dana.driver.current_url != first and "/runs/" in dana.driver.current_url, 180)
    dana.wait(lambda: marker in dana.text("#log"), 180)
    dana.driver.execute_script(  # the picture shows the access log's lines, the new request among them
        "var log = document.getElementById('log'), at = log.textContent.indexOf(arguments[0]);"
        "log.scrollTop = log.scrollHeight * at / log.textContent.length - 250;", marker)
    shot(dana, "console-logs-follow.png")
    dana.click("stop-follow")
    dana.wait(lambda: "follow=" not in dana.driver.current_url and not dana.find("#following"), 20)
