"""Behaviour of the web tier (nginx + php_fpm + acme) as a visitor and an operator see it on mol-web.

Every request goes to the container's own loopback (curl --resolve), bounded in count and time.
Certificates are verified against the root Pebble published (converge copies it to the host).
"""

import pytest

testinfra_hosts = ["mol-web"]

ROOT = "/usr/local/share/lab-acme-issuer-root.pem"
SITES = {"alpha": "alpha.lab.test", "beta": "beta.lab.test"}


def curl(host, url, *extra):
    """Run curl on the host against its own loopback; returns (status, body)."""
    domain = url.split("/")[2]
    port = "443" if url.startswith("https") else "80"
    cmd = (
        f"curl -sS --max-time 10 --cacert {ROOT} --resolve {domain}:{port}:127.0.0.1 "
        f"-o /tmp/curl-body -w '%{{http_code}} %{{redirect_url}}' {' '.join(extra)} '{url}'"
    )
    out = host.check_output(cmd)
    return out, host.file("/tmp/curl-body").content_string


@pytest.mark.parametrize("site,domain", SITES.items())
def test_site_answers_over_https_with_a_pebble_certificate(host, site, domain):
    status, body = curl(host, f"https://{domain}/up")
    assert status.startswith("200")
    assert body.strip() == "ok"


@pytest.mark.parametrize("site,domain", SITES.items())
def test_php_runs_as_the_site_user(host, site, domain):
    status, body = curl(host, f"https://{domain}/")
    assert status.startswith("200")
    assert body.strip() == site


def test_http_redirects_to_https_primary(host):
    status, _ = curl(host, "http://alpha.lab.test/some/path?x=1")
    assert status == "301 https://alpha.lab.test/some/path?x=1"


def test_alias_redirects_to_primary(host):
    for url in ("https://www.alpha.lab.test/a", "http://www.alpha.lab.test/a"):
        status, _ = curl(host, url)
        assert status == "301 https://alpha.lab.test/a"


def test_acme_challenge_path_is_served_over_http_before_redirect(host):
    host.run("echo token-ok > /var/www/acme/.well-known/acme-challenge/probe")
    try:
        status, body = curl(host, "http://www.alpha.lab.test/.well-known/acme-challenge/probe")
    finally:
        host.run("rm -f /var/www/acme/.well-known/acme-challenge/probe")
    assert status.startswith("200")
    assert body.strip() == "token-ok"


def test_unknown_host_gets_no_answer(host):
    result = host.run("curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: nobody.lab.test' http://127.0.0.1/")
    assert result.stdout.strip() == "000"  # 444: the connection is closed without a response


def test_security_headers_and_hsts(host):
    out = host.check_output(f"curl -sS -I --max-time 10 --cacert {ROOT} --resolve alpha.lab.test:443:127.0.0.1 https://alpha.lab.test/up")
    headers = out.lower()
    assert "x-frame-options: sameorigin" in headers
    assert "x-content-type-options: nosniff" in headers
    assert "referrer-policy:" in headers
    assert "strict-transport-security: max-age=63072000" in headers
    assert "server: nginx\r\n" in headers or "server: nginx\n" in headers  # no version (server_tokens off)
    assert "x-powered-by" not in headers


def test_tls_versions(host):
    old = host.run(f"curl -sS --max-time 5 --tls-max 1.1 --cacert {ROOT} --resolve alpha.lab.test:443:127.0.0.1 https://alpha.lab.test/up")
    assert old.rc != 0
    new = host.run(f"curl -sS --max-time 5 --tlsv1.3 --cacert {ROOT} --resolve alpha.lab.test:443:127.0.0.1 https://alpha.lab.test/up")
    assert new.rc == 0


def test_alpha_cannot_read_beta_files(host):
    status, body = curl(host, "https://alpha.lab.test/peek?site=beta")
    assert status.startswith("200")
    assert body.strip() == "denied"
    # Its own file is readable: the denial is about the other site, not a broken probe.
    _, own = curl(host, "https://alpha.lab.test/peek?site=alpha")
    assert own.strip() == "read: secret of alpha"
    # The Unix permissions alone also refuse it, whatever open_basedir says.
    assert host.run("runuser -u alpha -- cat /srv/www/beta/shared/secret.txt").rc != 0


def test_site_users_are_separated(host):
    assert host.user("alpha").groups == ["alpha"]
    assert host.user("beta").groups == ["beta"]
    assert {"alpha", "beta"} <= set(host.user("www-data").groups)
    home = host.file("/srv/www/alpha")
    assert (home.user, home.group, home.mode) == ("alpha", "alpha", 0o750)


def test_fpm_sockets_are_private_to_site_and_web_server(host):
    sock = host.file("/run/php-fpm-sites/alpha.sock")
    assert sock.is_socket
    assert (sock.user, sock.group, sock.mode) == ("alpha", "www-data", 0o660)


def test_rate_limit_answers_429(host):
    # alpha allows 20 r/s with a burst of 40 (nodelay): 60 requests sent at once (bounded: one
    # batch, 10 s at most) must see some 429. They go as 60 streams of one HTTP/2 connection, so
    # they arrive together however loaded the machine is (60 separate TLS handshakes did not:
    # on a busy CI machine they spread over seconds and the rate refilled).
    out = host.check_output(
        f"curl -s --no-progress-meter --http2 --parallel --parallel-max 60 --max-time 10 --cacert {ROOT} "
        "--resolve alpha.lab.test:443:127.0.0.1 --create-dirs -o '/tmp/rate-limit/#1' -w '%{http_code}\\n' "
        "'https://alpha.lab.test/up?n=[1-60]'; rm -rf /tmp/rate-limit"
    )
    codes = out.split()
    assert len(codes) == 60
    assert "429" in codes
    assert "200" in codes


def test_client_max_body_size_is_enforced(host):
    host.run("head -c 2000000 /dev/zero > /tmp/body-2m")
    status, _ = curl(host, "https://alpha.lab.test/upload", "--data-binary @/tmp/body-2m")
    assert status.startswith("413")
    status, body = curl(host, "https://beta.lab.test/upload", "--data-binary @/tmp/body-2m")
    assert status.startswith("200")
    assert body.strip() == "2000000"


def test_nginx_config_is_valid(host):
    assert host.run("nginx -t").rc == 0


def test_fpm_masters_carry_the_limits(host):
    out = host.check_output("systemctl show php-fpm-site@alpha -p MemoryMax -p CPUQuotaPerSecUSec -p ActiveState")
    props = dict(line.split("=", 1) for line in out.splitlines())
    assert props["ActiveState"] == "active"
    assert props["MemoryMax"] == str(256 * 1024 * 1024)
    assert props["CPUQuotaPerSecUSec"] == "500ms"


def test_distro_fpm_is_disabled(host):
    assert not host.service("php8.2-fpm").is_running
    assert host.run("systemctl is-enabled php8.2-fpm").stdout.strip() == "masked"


def test_certificates_are_in_place_and_private(host):
    for site in SITES:
        key = host.file(f"/etc/ssl/sites/{site}/privkey.pem")
        assert key.mode == 0o600 and key.user == "root"
        assert host.file(f"/etc/ssl/sites/{site}/fullchain.pem").exists
    out = host.check_output("openssl x509 -noout -ext subjectAltName -in /etc/ssl/sites/alpha/fullchain.pem")
    assert "alpha.lab.test" in out and "www.alpha.lab.test" in out


def test_expiry_check_lists_nothing(host):
    result = host.run("/usr/local/sbin/certs-expiring 21")
    assert result.rc == 0
    assert result.stdout == ""
    # And it does list a certificate once the window covers its expiry (Pebble issues for years).
    soon = host.run("/usr/local/sbin/certs-expiring 36500")
    assert soon.rc == 1
    assert "alpha" in soon.stdout


def served_serial(host, domain):
    """Serial of the certificate nginx serves for `domain` on the host's loopback."""
    return host.check_output(
        f"echo | openssl s_client -connect 127.0.0.1:443 -servername {domain} 2>/dev/null | openssl x509 -noout -serial")


def test_the_renewal_timer_renews_through_nginx_and_reloads_it(host):
    """The acme role's timer on a web host (web.yml's web_acme_renew_timer, on in production): dehydrated
    answers HTTP-01 from nginx's webroot and nginx serves the new certificate after its reload. Pebble
    issues for years here, so the window is widened to cover them: what the timer runs, started now."""
    assert host.service("certs-renew.timer").is_enabled
    assert host.service("certs-renew.timer").is_running
    before = {domain: served_serial(host, domain) for domain in SITES.values()}
    out = host.check_output("/usr/local/sbin/certs-renew 36500")
    for site, domain in SITES.items():
        assert f"certs-renew: {site} renewed" in out, out
        assert served_serial(host, domain) != before[domain], domain
        status, _ = curl(host, f"https://{domain}/")
        assert status.startswith("200"), (domain, status)
