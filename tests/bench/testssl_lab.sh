#!/usr/bin/env bash
# testssl.sh against sites of the running lab (bash scripts/lab.sh up first): what roles/nginx and
# roles/haproxy really serve, with the certificates the acme role got from the lab's Pebble.
# Default: one site on Nginx (aeroweb, on whc) and one behind HAProxy (aerotalent, on lb_01).
# Prints every finding above LOW per site; keeps testssl's JSON and log in tests/bench/results/
# (gitignored). Trust findings (Pebble's CA is unknown to testssl, no OCSP/CRL URI in its
# certificates) come from the lab's ACME server, not from the configuration: they are listed apart
# and do not fail the bench. Traffic: this machine -> lab containers on podman's bridge, one
# testssl run per site, each bounded by a timeout.
#
# Usage: bash tests/bench/testssl_lab.sh [SITE ...]    (about 3-4 minutes per site)
#   TESTSSL_IP=<address> TESTSSL_DOMAIN=<name> bash tests/bench/testssl_lab.sh   one server given by
#   hand instead, e.g. the web scenario's nginx (molecule converge -s web; alpha.lab.test on mol-web).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RESULTS="$ROOT/tests/bench/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
TESTSSL="$(command -v testssl || command -v testssl.sh || true)"
[ -n "$TESTSSL" ] || { echo "testssl.sh is not installed (apt-get install testssl.sh)" >&2; exit 2; }
mkdir -p "$RESULTS"
[ $# -gt 0 ] || set -- aeroweb aerotalent

# Site -> "primary-domain address server" from the lab's data model (the load balancer's address
# for a site behind it, else its first host's).
where() {
  "$ROOT/.venv/bin/python" - "$ROOT/inventories/lab" "$1" <<'PY'
import sys, yaml
lab, site = sys.argv[1], sys.argv[2]
hosts = yaml.safe_load(open(f"{lab}/hosts.yml"))["all"]["children"]["lab_hosts"]["hosts"]
sites = yaml.safe_load(open(f"{lab}/group_vars/all/sites.yml"))["sites"]
lb = yaml.safe_load(open(f"{lab}/group_vars/all/lb.yml"))
if site not in sites:
    sys.exit(f"unknown site {site}")
behind = site in (lb.get("lb_sites") or [])
host = "lb_01" if behind else sites[site]["hosts"][0]
print(sites[site]["domains"][0], hosts[host]["private_ip"], "haproxy" if behind else "nginx")
PY
}

# The root of the chains Pebble issues (a new one each time Pebble starts), from its management
# API on labsvc, so that testssl checks the chain of trust instead of calling it incomplete.
ca_args=()
pebble_root="$RESULTS/pebble-issuing-root.pem"
if [ -z "${TESTSSL_NO_PEBBLE_ROOT:-}" ] && curl -sfk --max-time 5 "https://${PEBBLE_MANAGEMENT:-10.77.0.5:15000}/roots/0" -o "$pebble_root"; then
  ca_args=(--add-ca "$pebble_root")
  echo "== trusting Pebble's issuing root ($(openssl x509 -in "$pebble_root" -noout -subject 2>/dev/null))"
fi

status=0
if [ -n "${TESTSSL_IP:-}" ]; then set -- "${TESTSSL_DOMAIN:?TESTSSL_DOMAIN is needed with TESTSSL_IP}"; fi
for site in "$@"; do
  if [ -n "${TESTSSL_IP:-}" ]; then
    domain=$site ip=$TESTSSL_IP server="given by hand"
  else
    read -r domain ip server < <(where "$site")
  fi
  json="$RESULTS/testssl-$site-$STAMP.json"
  log="$RESULTS/testssl-$site-$STAMP.log"
  echo "== $site: https://$domain/ on $ip ($server)"
  started=$(date +%s)
  set +e
  timeout 900 "$TESTSSL" --quiet --color 0 --warnings off --nodns min --ip "$ip" "${ca_args[@]}" \
    --severity LOW --jsonfile "$json" "https://$domain/" > "$log" 2>&1
  rc=$?
  set -e
  echo "   testssl.sh exit code $rc, ran $(( $(date +%s) - started )) s; JSON: ${json#"$ROOT"/}, log: ${log#"$ROOT"/}"
  "$ROOT/.venv/bin/python" - "$json" <<'PY' || status=1
import json, sys
# Findings that a certificate from the lab's Pebble causes (production uses Let's Encrypt).
LAB_TRUST = ("cert_chain_of_trust", "cert_trust", "cert_ocspURL", "cert_crlDistributionPoints",
             "cert_revocation", "OCSP_stapling", "cert_caIssuers", "DNS_CAArecord", "cert_certificatePolicies_EV",
             "cert_extlifeSpan", "cert_ocspRevoked", "intermediate_cert_badOCSP", "cert_validityPeriod")
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
print("   findings by severity:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
print(f"   above LOW, configuration: {len(above)}")
for f in above:
    print(f"     {f['severity']:8} {f['id']}: {f.get('finding', '')}")
print(f"   above LOW, caused by the lab's Pebble CA (expected, not a configuration weakness): {len(trust)}")
for f in trust:
    print(f"     {f['severity']:8} {f['id']}: {f.get('finding', '')}")
sys.exit(1 if above else 0)
PY
done
exit $status
