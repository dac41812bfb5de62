#!/usr/bin/env bash
# testssl.sh against a lab site: nginx with the TLS settings of roles/nginx (Mozilla "intermediate",
# HSTS two years) and a certificate from a throw-away test CA, in one lab container.
# Prints every finding above LOW; keeps testssl's JSON in tests/bench/results/ (gitignored).
# Trust findings (unknown CA, no OCSP/CRL URI) come from the lab's test CA, not from the
# configuration: they are listed apart and do not fail the bench. Traffic: this machine ->
# one lab container on podman's bridge, one testssl run, bounded by a timeout.
#
# Usage: bash tests/bench/testssl_lab.sh      (about 3-4 minutes; needs podman and testssl.sh)
#   TESTSSL_SOURCE=nginx (default): protocols, ciphers, HSTS, cipher order and gzip of roles/nginx
#                                   (its defaults and nginx.conf template) when the role is there;
#   TESTSSL_SOURCE=scenario:        molecule/security/files/tls-intermediate.conf as it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/lab/containers.conf}"
IMAGE="${LAB_IMAGE:-localhost/lab-debian:bookworm}"
NAME="bench-testssl-nginx"
RESULTS="$ROOT/tests/bench/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
JSON="$RESULTS/testssl-$STAMP.json"
LOG="$RESULTS/testssl-$STAMP.log"
TESTSSL="$(command -v testssl || command -v testssl.sh || true)"
[ -n "$TESTSSL" ] || { echo "testssl.sh is not installed (apt-get install testssl.sh)" >&2; exit 2; }
mkdir -p "$RESULTS"

cleanup() { podman rm -f -t 2 "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

started=$(date +%s)
podman run -d --name "$NAME" --systemd=always "$IMAGE" /sbin/init >/dev/null
for _ in $(seq 1 30); do
  state=$(podman exec "$NAME" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 1
done
podman exec "$NAME" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light openssl >/dev/null'

# The TLS settings: roles/nginx's defaults when the role is there, else the scenario's copy.
"$ROOT/.venv/bin/python" - "$ROOT" "${TESTSSL_SOURCE:-nginx}" > "$RESULTS/nginx-$STAMP.conf" <<'PY'
import os, re, sys, yaml
root, wanted = sys.argv[1], sys.argv[2]
conf = open(os.path.join(root, "molecule/security/files/tls-intermediate.conf")).read()
defaults = os.path.join(root, "roles/nginx/defaults/main.yml")
source = "molecule/security/files/tls-intermediate.conf"
template = os.path.join(root, "roles/nginx/templates/etc/nginx/nginx.conf.j2")
if wanted == "nginx" and os.path.exists(defaults):
    d = yaml.safe_load(open(defaults)) or {}
    main = open(template).read() if os.path.exists(template) else ""
    order = re.search(r"ssl_prefer_server_ciphers (on|off);", main)
    if order:
        conf = re.sub(r"ssl_prefer_server_ciphers (on|off);", f"ssl_prefer_server_ciphers {order.group(1)};", conf)
    if "nginx_gzip" in d:
        conf = re.sub(r"gzip (on|off);", f"gzip {'on' if d['nginx_gzip'] else 'off'};", conf)
    protocols, ciphers = d.get("nginx_ssl_protocols"), d.get("nginx_ssl_ciphers")
    if protocols:
        protocols = " ".join(protocols) if isinstance(protocols, list) else protocols
        conf = re.sub(r"ssl_protocols [^;]+;", f"ssl_protocols {protocols};", conf)
    if ciphers:
        ciphers = ":".join(ciphers) if isinstance(ciphers, list) else ciphers
        conf = re.sub(r"ssl_ciphers [^;]+;", f"ssl_ciphers {ciphers};", conf)
    if d.get("nginx_hsts_max_age"):
        conf = re.sub(r"max-age=\d+", f"max-age={d['nginx_hsts_max_age']}", conf)
    source = "roles/nginx (defaults/main.yml, templates/etc/nginx/nginx.conf.j2)"
print(f"# TLS settings from {source}")
print(conf)
PY
head -1 "$RESULTS/nginx-$STAMP.conf"
grep -E "ssl_protocols|ssl_prefer|gzip|Strict" "$RESULTS/nginx-$STAMP.conf" | sed 's/^ */  /' 
podman cp "$RESULTS/nginx-$STAMP.conf" "$NAME:/etc/nginx/sites-enabled/default"
podman exec "$NAME" bash -c '
  set -e; install -d -m 0750 /etc/ssl/lab; cd /etc/ssl/lab
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj "/CN=Lab test CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=security.lab.test" \
    -keyout privkey.pem -out site.csr 2>/dev/null
  printf "subjectAltName=DNS:security.lab.test\nextendedKeyUsage=serverAuth\n" > ext.cnf
  openssl x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 90 -extfile ext.cnf -out site.pem 2>/dev/null
  cat site.pem ca.pem > fullchain.pem
  nginx -t 2>&1 | grep -v "^nginx: the configuration" || true
  systemctl restart nginx'
IP=$(podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$NAME")
ready=$(date +%s)
echo "lab site: https://security.lab.test/ on $IP (container ready in $((ready - started)) s)"

set +e
timeout 900 "$TESTSSL" --quiet --color 0 --warnings off --nodns min --ip "$IP" \
  --severity LOW --jsonfile "$JSON" "https://security.lab.test/" > "$LOG" 2>&1
rc=$?
set -e
done_at=$(date +%s)
echo "testssl.sh exit code $rc, ran $((done_at - ready)) s; JSON: ${JSON#"$ROOT"/}, log: ${LOG#"$ROOT"/}"

"$ROOT/.venv/bin/python" - "$JSON" <<'PY'
import json, sys
# Findings that a certificate from the lab's test CA causes (production uses Let's Encrypt).
LAB_TRUST = ("cert_chain_of_trust", "cert_trust", "cert_ocspURL", "cert_crlDistributionPoints",
             "cert_revocation", "OCSP_stapling", "cert_caIssuers", "DNS_CAArecord", "cert_certificatePolicies_EV",
             "cert_extlifeSpan", "cert_ocspRevoked", "intermediate_cert_badOCSP")
ORDER = {"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
data = json.load(open(sys.argv[1]))
findings = data if isinstance(data, list) else data.get("scanResult", [])
counts = {}
above, trust = [], []
for f in findings:
    sev = f.get("severity", "")
    counts[sev] = counts.get(sev, 0) + 1
    if ORDER.get(sev, 0) > ORDER["LOW"]:
        (trust if f.get("id", "").startswith(LAB_TRUST) else above).append(f)
print("findings by severity:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
print(f"above LOW, configuration: {len(above)}")
for f in above:
    print(f"  {f['severity']:8} {f['id']}: {f.get('finding', '')}")
print(f"above LOW, caused by the lab's self-signed test CA (expected, not a configuration weakness): {len(trust)}")
for f in trust:
    print(f"  {f['severity']:8} {f['id']}: {f.get('finding', '')}")
sys.exit(1 if above else 0)
PY
