# -*- coding: utf-8 -*-
"""Filters of the Forge discovery (playbooks/discover.yml): set what a host runs beside the data model.

- ``forge_compare(discovery, host, sites, databases, found_databases, certificates)``: the report of one
  host: ``findings`` (each ``kind``, ``subject``, ``site``, ``status`` = match | differs | model_lacks |
  host_lacks, ``model``, ``host``, ``file``, ``line``), ``to_confirm`` (one French and English question per
  open finding), ``errors`` (what could not be read), ``secret_env`` (names that belong in the vault) and
  the facts shown as they are (OS, disk, search engines, certificates, databases).
- ``forge_drift(report, site=None)``: the findings about Forge's own files (Nginx files named after the domain,
  PHP-FPM pools, Supervisor programs, ``.env`` names) that differ from the model, one line each, naming
  the host, the file and the line.
- ``forge_model_to_confirm(sites, databases, hosts, dns_domains, forge_hosts)``: the open questions the
  data model alone shows (placeholders, ``unconfirmed`` fields, unowned databases, DNS), no host read.
- ``forge_worker_logs(conf_paths)``: the log file of each Supervisor program Forge wrote (logs.yml).
- ``forge_report_markdown(reports)`` and ``forge_to_confirm_markdown(items, title)``: the Markdown texts.

Secret names are recognised by plugins/filter/datamodel.py's rule (env_secret_names), not here.
"""

from __future__ import annotations

import importlib.util
import os
import sys

# The login Forge creates on its servers (production's forge_managed group connects as it).
FORGE_USER = "forge"
STATUSES = ("match", "differs", "model_lacks", "host_lacks")
# Forge's own files: what the drift report compares (kinds of findings about them).
DRIFT_KINDS = ("domain", "nginx_file", "root", "php_version", "fpm_pool", "worker", "env")
SYSTEM_DATABASES = {
    "mysql": {"mysql", "information_schema", "performance_schema", "sys"},
    "postgresql": {"postgres", "template0", "template1"},
}


def _datamodel():
    """plugins/filter/datamodel.py, where the .env rules are defined once."""
    if "datamodel" in sys.modules:
        return sys.modules["datamodel"]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "datamodel.py")
    spec = importlib.util.spec_from_file_location("forge_report_datamodel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finding(kind, subject, status, site=None, model=None, host=None, file=None, line=None):
    return {"kind": kind, "subject": subject, "status": status, "site": site, "model": model, "host": host,
            "file": file, "line": line}


def _site_dirs(site, forge_home):
    return ["%s/%s" % (forge_home, d) for d in site.get("domains") or []]


def _mentions(text, dirs):
    return any(d == text or (d + "/") in (text or "") + "/" for d in dirs)


def _compare_sites(discovery, host, sites, forge_home, findings):
    """Domains, Nginx file names, roots and PHP versions of the model's sites; the host's unknown sites."""
    servers = [s for s in discovery.get("sites") or [] if s.get("server_names")]
    owner = {d.lower(): name for name, site in sites.items() for d in site.get("domains") or []}
    here = {name: site for name, site in sites.items()
            if host in (site.get("hosts") or []) and site.get("status", "active") == "active"}
    for name, site in sorted(here.items()):
        domains = [d.lower() for d in site.get("domains") or []]
        for domain in domains:
            server = next((s for s in servers if domain in s["server_names"]), None)
            if server is None:
                findings.append(_finding("domain", domain, "host_lacks", name, model=domain,
                                         host="no Nginx server_name"))
            else:
                findings.append(_finding("domain", domain, "match", name, domain, domain, server["file"], server["line"]))
        server = next((s for s in servers if domains and domains[0] in s["server_names"]), None)
        if server is None:
            continue
        expected_file = "/etc/nginx/sites-available/%s" % domains[0]
        if server["file"] != expected_file:
            findings.append(_finding("nginx_file", domains[0], "differs", name, expected_file, server["file"],
                                     server["file"], server["line"]))
        web_root = site.get("web_root", "public")
        roots = ["%s/%s/%s" % (forge_home, domains[0], web_root), "%s/%s/current/%s" % (forge_home, domains[0], web_root)]
        for root in server["roots"]:
            if root.rstrip("/") not in roots:
                findings.append(_finding("root", domains[0], "differs", name, roots[0], root, server["file"],
                                         (server.get("directive_lines") or {}).get("root", server["line"])))
        versions = server.get("php_versions") or []
        wanted = str(site.get("php_version", ""))
        status = "match" if versions == [wanted] else "differs"
        findings.append(_finding("php_version", domains[0], status, name, wanted, ", ".join(versions) or "none",
                                 server["file"], (server.get("directive_lines") or {}).get("fastcgi_pass", server["line"])))
        pools = {p.get("php_version") for p in discovery.get("fpm_pools") or []}
        for version in versions:
            if version not in pools:
                findings.append(_finding("fpm_pool", domains[0], "host_lacks", name, "PHP %s pool" % version,
                                         "no pool in /etc/php/%s/fpm/pool.d" % version, server["file"], server["line"]))
    reported = set()
    for server in servers:
        if any(n in owner for n in server["server_names"]):
            continue
        primary = server["server_names"][0]
        if primary not in reported:
            reported.add(primary)
            findings.append(_finding("site", primary, "model_lacks", None, None, " ".join(server["server_names"]),
                                     server["file"], server["line"]))
    for app in discovery.get("apps") or []:
        domain = app["domain"].lower()
        if domain not in owner and domain not in reported:
            reported.add(domain)
            findings.append(_finding("site", domain, "model_lacks", None, None, app["path"], app["path"]))
    return here


def _compare_apps(discovery, here, forge_home, findings, secret_names):
    """Each site's Forge directory and .env: the model's env names present, drivers and DB_DATABASE agree."""
    apps = {a["domain"].lower(): a for a in discovery.get("apps") or []}
    served = {n for s in discovery.get("sites") or [] for n in s.get("server_names") or []}
    secrets = {}
    for name, site in sorted(here.items()):
        domains = [d.lower() for d in site.get("domains") or []]
        if not domains or domains[0] not in served:
            continue  # the domain finding says it already
        app = apps.get(domains[0])
        path = "%s/%s" % (forge_home, domains[0])
        if app is None:
            findings.append(_finding("app", path, "host_lacks", name, path, "no directory"))
            continue
        if not app.get("env_file"):
            findings.append(_finding("env", path + "/.env", "host_lacks", name, ".env", "no .env", path))
            continue
        keys, values, env_path = app["env_keys"], app["env_values"], app["env_file"]
        secrets[name] = secret_names(keys)
        for key in sorted(site.get("env") or {}):
            status = "match" if key in keys else "host_lacks"
            findings.append(_finding("env", key, status, name, key, key if key in keys else "missing", env_path))
        for field, env_names in (("queue_connection", ["QUEUE_CONNECTION"]), ("session_driver", ["SESSION_DRIVER"]),
                                 ("cache_driver", ["CACHE_STORE", "CACHE_DRIVER"])):
            actual = next((values[k] for k in env_names if k in values), None)
            wanted = site.get(field)
            if wanted in (None, "auto"):
                continue
            status = "match" if actual == wanted else "differs"
            findings.append(_finding("env", "/".join(env_names), status, name, wanted, actual or "unset", env_path))
        databases = site.get("databases") or []
        if "DB_DATABASE" in values or databases:
            actual = values.get("DB_DATABASE")
            status = "match" if actual in databases or (actual is None and not databases) else "differs"
            findings.append(_finding("env", "DB_DATABASE", status, name, ", ".join(databases) or "none",
                                     actual or "unset", env_path))
    return secrets


def _compare_workers(discovery, host, sites, here, forge_home, findings):
    """Supervisor queue workers against each site's workers; cron's schedule:run against its scheduler."""
    workers = [w for w in discovery.get("workers") or [] if w.get("is_worker")]
    claimed = set()
    for name, site in sorted(here.items()):
        dirs = _site_dirs(site, forge_home)
        mine = [w for w in workers if _mentions(w.get("command"), dirs) or _mentions(w.get("directory"), dirs)]
        claimed.update(id(w) for w in mine)
        model = {w.get("queue", "default"): int(w.get("processes", 1)) for w in site.get("workers") or []}
        on_host = {}
        for worker in mine:
            on_host.setdefault(worker["queue"], []).append(worker)
        for queue in sorted(set(model) | set(on_host)):
            programs = on_host.get(queue, [])
            processes = sum(w["numprocs"] for w in programs)
            described = ", ".join("%s (%d)" % (w["name"], w["numprocs"]) for w in programs)
            first = programs[0] if programs else {}
            if queue not in model:
                status = "model_lacks"
            elif not programs:
                status = "host_lacks"
            else:
                status = "match" if processes == model[queue] else "differs"
            findings.append(_finding("worker", "queue %s" % queue, status, name,
                                     "%d process(es)" % model[queue] if queue in model else None,
                                     "%s: %d process(es)" % (described, processes) if programs else None,
                                     first.get("file"), first.get("line")))
        schedulers = [c for c in discovery.get("cron") or [] if c.get("is_scheduler") and _mentions(c["command"], dirs)]
        # The scheduler runs on the first host of a site only.
        wanted = bool(site.get("scheduler")) and (site.get("hosts") or [None])[0] == host
        if schedulers or wanted:
            status = "match" if bool(schedulers) == wanted else ("model_lacks" if schedulers else "host_lacks")
            first = schedulers[0] if schedulers else {}
            findings.append(_finding("scheduler", "schedule:run", status, name, "every minute" if wanted else None,
                                     first.get("schedule"), first.get("source"), first.get("line")))
    owner = {("%s/%s" % (forge_home, d.lower())): n for n, s in sites.items() for d in s.get("domains") or []}
    for worker in workers:
        if id(worker) in claimed:
            continue
        text = "%s %s" % (worker.get("command"), worker.get("directory"))
        if any(_mentions(text, [d]) for d in owner):
            continue  # a site of the model on another host: its own host reports it
        findings.append(_finding("worker", worker["name"], "model_lacks", None, None,
                                 "%s (%d)" % (worker["command"], worker["numprocs"]), worker["file"], worker["line"]))


def _compare_databases(host, databases, found, findings):
    engines_read = {d["engine"] for d in found}
    found_names = {(d["engine"], d["name"]) for d in found if d.get("name")}
    sizes = {(d["engine"], d["name"]): d.get("size_bytes") for d in found if d.get("name")}
    declared = {name: db for name, db in (databases or {}).items() if db.get("host") == host}
    for name, db in sorted(declared.items()):
        engine = db.get("engine")
        if engine not in engines_read:
            continue  # the engine was not read here: the errors say why
        status = "match" if (engine, name) in found_names else "host_lacks"
        findings.append(_finding("database", name, status, db.get("site"), engine,
                                 "%s, %s bytes" % (engine, sizes.get((engine, name))) if status == "match" else None))
    for engine, name in sorted(found_names):
        if name in SYSTEM_DATABASES.get(engine, ()) or name in declared:
            continue
        findings.append(_finding("database", name, "model_lacks", None, None,
                                 "%s, %s bytes" % (engine, sizes.get((engine, name)))))


# One French and one English question per open finding (French first): for JS, the person who knows.
_QUESTIONS = {
    ("domain", "host_lacks"): ("le domaine {subject} (site {site}) n'est servi par aucun fichier Nginx de {host} : "
                               "est-il servi ailleurs, ou le modèle se trompe-t-il ?",
                               "domain {subject} (site {site}) is served by no Nginx file on {host}: is it served "
                               "elsewhere, or is the model wrong?"),
    ("site", "model_lacks"): ("{host} sert {subject} ({file}), absent du modèle : quel site est-ce, qui l'utilise, "
                              "faut-il le garder ?",
                              "{host} serves {subject} ({file}), which the model lacks: which site is it, who uses "
                              "it, should it be kept?"),
    ("php_version", "differs"): ("le site {site} ({subject}) tourne en PHP {hostvalue} sur {host}, le modèle dit "
                                 "PHP {model} : laquelle est la bonne ?",
                                 "site {site} ({subject}) runs PHP {hostvalue} on {host}, the model says PHP {model}: "
                                 "which one is right?"),
    ("worker", "model_lacks"): ("{host} fait tourner le worker {subject} du site {site} ({hostvalue}, {file}), absent "
                                "du modèle : est-il encore nécessaire ?",
                                "{host} runs worker {subject} of site {site} ({hostvalue}, {file}), which the model "
                                "lacks: is it still needed?"),
    ("worker", "host_lacks"): ("le worker {subject} du site {site} ({model}) n'existe pas sur {host} : le modèle "
                               "se trompe-t-il ?",
                               "worker {subject} of site {site} ({model}) does not exist on {host}: is the model "
                               "wrong?"),
    ("worker", "differs"): ("le worker {subject} du site {site} a {hostvalue} sur {host}, le modèle dit {model} : "
                            "combien en faut-il ?",
                            "worker {subject} of site {site} has {hostvalue} on {host}, the model says {model}: how "
                            "many are needed?"),
    ("database", "model_lacks"): ("la base de données {subject} ({hostvalue}) existe sur {host} mais pas dans le "
                                  "modèle : à quel site appartient-elle, est-elle encore utilisée ?",
                                  "database {subject} ({hostvalue}) exists on {host} but not in the model: which "
                                  "site owns it, is it still used?"),
    ("database", "host_lacks"): ("la base de données {subject} du modèle n'existe pas sur {host} : où est-elle ?",
                                 "database {subject} of the model does not exist on {host}: where is it?"),
    ("scheduler", "model_lacks"): ("{host} lance schedule:run pour le site {site} ({file}), le modèle dit non : "
                                   "faut-il le garder ?",
                                   "{host} runs schedule:run for site {site} ({file}), the model says no: should "
                                   "it be kept?"),
    ("scheduler", "host_lacks"): ("le site {site} n'a pas de schedule:run sur {host}, le modèle en demande un : "
                                  "est-ce voulu ?",
                                  "site {site} has no schedule:run on {host}, the model asks for one: is that "
                                  "intended?"),
}
_GENERIC = ("{host} : {kind} {subject} (site {site}) : le modèle dit « {model} », le serveur « {hostvalue} » "
            "({file}) : lequel est juste ?",
            "{host}: {kind} {subject} (site {site}): the model says '{model}', the host '{hostvalue}' ({file}): "
            "which one is right?")


def _question(host, finding):
    fr, en = _QUESTIONS.get((finding["kind"], finding["status"]), _GENERIC)
    values = dict(finding, host=host, hostvalue=finding["host"], site=finding["site"] or "?",
                  model=finding["model"] if finding["model"] is not None else "-",
                  file=finding["file"] or "-")
    return {"host": host, "kind": finding["kind"], "subject": finding["subject"],
            "fr": fr.format(**values), "en": en.format(**values)}


def _databases_found(found):
    """[{engine, name, size_bytes}] from {engine: mysql_info's or postgresql_info's ``databases``}."""
    if isinstance(found, list):
        return found
    result = []
    for engine, dbs in sorted((found or {}).items()):
        for name, info in sorted((dbs or {}).items()):
            size = (info or {}).get("size")
            result.append({"engine": engine, "name": name,
                           "size_bytes": int(size) if str(size or "").isdigit() else size})
    return result


def _certificates(results):
    """([{path, not_after, expired, names}], [errors]) from x509_certificate_info's loop results."""
    certs, errors = [], []
    for item in results or []:
        path = item.get("path") or item.get("item")
        if item.get("skipped"):
            continue
        if item.get("not_after") is None:
            errors.append({"file": path, "error": "cannot read the certificate: %s" % str(item.get("msg", ""))[:200]})
            continue
        certs.append({"path": path, "not_after": item.get("not_after"), "expired": item.get("expired"),
                      "names": item.get("subject_alt_name") or item.get("names")})
    return certs, errors


def forge_compare(discovery, host, sites, databases=None, found_databases=None, certificates=None,
                  forge_home="/home/forge"):
    """The report of one host: every finding beside the data model, and the questions they open.

    ``found_databases``: {engine: mysql_info's / postgresql_info's ``databases``} for the engines read
    (an engine absent was not read: its databases are not said to be missing). ``certificates``: the
    loop results of community.crypto.x509_certificate_info.
    """
    discovery = discovery or {}
    sites = sites or {}
    found_databases = _databases_found(found_databases)
    certificates, cert_errors = _certificates(certificates)
    findings = []
    here = _compare_sites(discovery, host, sites, forge_home, findings)
    secrets = _compare_apps(discovery, here, forge_home, findings, _datamodel().env_secret_names)
    _compare_workers(discovery, host, sites, here, forge_home, findings)
    _compare_databases(host, databases, found_databases or [], findings)
    errors = list(discovery.get("errors") or []) + cert_errors
    to_confirm = [_question(host, f) for f in findings if f["status"] != "match"]
    to_confirm += [{"host": host, "kind": "unreadable", "subject": e["file"],
                    "fr": "{0} : {1} n'a pas pu être lu ({2}) : à vérifier sur le serveur".format(host, e["file"], e["error"]),
                    "en": "{0}: {1} could not be read ({2}): to check on the host".format(host, e["file"], e["error"])}
                   for e in errors]
    counts = {status: sum(1 for f in findings if f["status"] == status) for status in STATUSES}
    return {"host": host, "counts": counts, "findings": findings, "to_confirm": to_confirm, "errors": errors,
            "error_lines": ["%s: %s: %s" % (host, e["file"], e["error"]) for e in errors],
            "secret_env": secrets, "os": discovery.get("os") or {}, "disk": discovery.get("disk") or [],
            "search": discovery.get("search") or [], "certificates": certificates or [],
            "databases": [d for d in found_databases if d.get("name") not in SYSTEM_DATABASES.get(d["engine"], ())],
            "cron": discovery.get("cron") or [], "apps": [
                {k: a.get(k) for k in ("domain", "path", "laravel", "env_file", "env_values", "size_bytes")}
                for a in discovery.get("apps") or []]}


def forge_drift(report, site=None):
    """Lines naming host, file and line for each finding about Forge's files that is not a match.

    ``site``: only that site's findings (what a role that handles one site asks for); unreadable files
    are always listed.
    """
    lines = []
    for f in report.get("findings") or []:
        if f["kind"] in DRIFT_KINDS and f["status"] != "match" and (site is None or f["site"] == site):
            where = f["file"] or "-"
            if f.get("line"):
                where += ":%s" % f["line"]
            lines.append("%s: %s: %s %s (site %s) %s: model '%s', host '%s'" % (
                report["host"], where, f["kind"], f["subject"], f["site"] or "-", f["status"].replace("_", " "),
                f["model"] if f["model"] is not None else "-", f["host"] if f["host"] is not None else "-"))
    return lines + list(report.get("error_lines") or [])


def _cell(value):
    return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ")


def forge_report_markdown(reports):
    """The Markdown report of every host: counts, findings by status, facts, and the to-confirm list."""
    out = ["# Discovery report", ""]
    for report in reports:
        host = report["host"]
        counts = report["counts"]
        out += ["## %s" % host, "",
                "%s (%s). Matches %d, differences %d, the model lacks %d, the host lacks %d; %d unreadable." % (
                    report["os"].get("pretty_name") or "OS unknown", host, counts["match"], counts["differs"],
                    counts["model_lacks"], counts["host_lacks"], len(report["errors"])), ""]
        for status, title in (("differs", "Differences"), ("model_lacks", "What the model lacks"),
                              ("host_lacks", "What the host lacks"), ("match", "Matches")):
            rows = [f for f in report["findings"] if f["status"] == status]
            if not rows:
                continue
            out += ["### %s" % title, "", "| kind | subject | site | model | host | file |", "|---|---|---|---|---|---|"]
            out += ["| %s | %s | %s | %s | %s | %s |" % tuple(_cell(v) for v in (
                f["kind"], f["subject"], f["site"], f["model"], f["host"],
                (f["file"] or "") + (":%s" % f["line"] if f.get("line") else ""))) for f in rows]
            out.append("")
        if report["errors"]:
            out += ["### Could not be read", ""] + ["- `%s`: %s" % (e["file"], e["error"]) for e in report["errors"]] + [""]
        out += ["### Facts", ""]
        out += ["- disk %s: %d of %d GiB used" % (d["mount"], d["used_bytes"] // 2 ** 30, d["total_bytes"] // 2 ** 30)
                for d in report["disk"]]
        out += ["- database %s (%s): %s bytes" % (d["name"], d["engine"], d.get("size_bytes")) for d in report["databases"]]
        out += ["- certificate %s: expires %s" % (c.get("path"), c.get("not_after")) for c in report["certificates"]]
        out += ["- %s on port %s: %s" % (s["engine"], s["port"], ", ".join(
            "%s (%s)" % (c["name"], c["documents"]) for c in s["collections"]) if s["reachable"]
            else "not reachable on loopback (%s)" % s.get("error", "")) for s in report["search"]]
        out += ["- cron %s: `%s %s`" % (c["source"], c["schedule"], c["command"]) for c in report["cron"]]
        out += ["- app %s: Laravel %s, %s bytes, .env values read: %s" % (
            a["path"], "yes" if a["laravel"] else "no", a.get("size_bytes"),
            ", ".join("%s=%s" % kv for kv in sorted((a.get("env_values") or {}).items())) or "none")
            for a in report["apps"]]
        out += ["- .env of site %s: secret names (their values belong in the vault): %s" % (
            site, ", ".join(names) or "none") for site, names in sorted(report["secret_env"].items())]
        out.append("")
    items = [item for report in reports for item in report["to_confirm"]]
    out.append(forge_to_confirm_markdown(items, "À confirmer / To confirm"))
    return "\n".join(out)


def forge_to_confirm_markdown(items, title="À confirmer avec JS / To confirm with JS", note=None):
    """One line per open question, French first then English; with a ``note``, a whole document (level-1 title)."""
    out = ["%s %s" % ("#" if note else "##", title), ""] + ([note, ""] if note else [])
    if not items:
        out.append("Rien à confirmer. / Nothing to confirm.")
    out += ["- [ ] **%s** — FR : %s — EN: %s" % (i["host"], i["fr"], i["en"]) for i in items]
    return "\n".join(out) + "\n"


def _placeholder(value):
    return _datamodel()._is_placeholder(value)


def forge_model_to_confirm(sites, databases=None, hosts=None, dns_domains=None, forge_hosts=None):
    """Open questions from the data model alone: no host is read (production is not reachable from CI)."""
    items = []

    def add(subject, fr, en):
        items.append({"host": subject, "kind": "model", "subject": subject, "fr": fr, "en": en})

    for host in forge_hosts or []:
        values = (hosts or {}).get(host) or {}
        for field in ("ansible_host", "private_ip"):
            if _placeholder(values.get(field)) or not values.get(field):
                add(host, "adresse de %s (%s) à fournir" % (host, field),
                    "address of %s (%s) to fill in" % (host, field))
        user = values.get("ansible_user") or "-"
        if user == FORGE_USER:
            # The inventory connects as Forge's own user (docs/forge.md): what only the Forge account shows.
            add(host, "connexion à %s en tant que forge : notre clé SSH publique est-elle ajoutée au serveur dans Forge, "
                      "et qui garde le mot de passe sudo de forge que Forge a affiché à la création du serveur ?" % host,
                "connecting to %s as forge: is our public SSH key added to the server in Forge, and who keeps the "
                "forge sudo password Forge showed when it created the server?" % host)
        else:
            add(host, "quel utilisateur SSH et quelles règles sudo Forge a-t-il créés sur %s (forge ?) : "
                      "le modèle dit %s" % (host, user),
                "which SSH user and sudo rules did Forge set up on %s (forge?): the model says %s" % (host, user))
        # Forge keeps each site's deploy script in its own records, not on the server: discovery cannot see it,
        # and deploy.yml runs Forge's default one (docs/forge.md, "Why not Forge's API").
        add(host, "sites Forge de %s : lesquels ont un script de déploiement modifié dans Forge (autre que celui par "
                  "défaut) ? en donner le texte" % host,
            "Forge sites of %s: which have a deploy script changed in Forge (not Forge's default)? give its text" % host)
    for name, site in sorted((sites or {}).items()):
        if _placeholder(site.get("repo")):
            add(name, "site %s : adresse du dépôt git ?" % name, "site %s: git repository URL?" % name)
        for domain in site.get("domains") or []:
            if _placeholder(domain):
                add(name, "site %s : vrai nom de domaine (à la place de %s) ?" % (name, domain),
                    "site %s: real domain name (instead of %s)?" % (name, domain))
        for field in site.get("unconfirmed") or []:
            value = site.get(field)
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            add(name, "site %s : %s vaut « %s » par défaut, est-ce juste ?" % (name, field, shown if shown not in (None, "") else "-"),
                "site %s: %s is '%s' by default, is that right?" % (name, field, shown if shown not in (None, "") else "-"))
    for name, db in sorted((databases or {}).items()):
        if not db.get("site"):
            add(name, "base de données %s (%s, %s) : à quel site appartient-elle, est-elle encore utilisée ?" % (
                name, db.get("engine"), db.get("host")),
                "database %s (%s, %s): which site owns it, is it still used?" % (name, db.get("engine"), db.get("host")))
    for domain, entry in sorted((dns_domains or {}).items()):
        if not (entry or {}).get("confirmed"):
            add(domain, "domaine %s : registraire (%s) et DNS (%s) à confirmer" % (
                domain, entry.get("registrar"), entry.get("dns_provider")),
                "domain %s: registrar (%s) and DNS provider (%s) to confirm" % (
                domain, entry.get("registrar"), entry.get("dns_provider")))
    return items


def forge_worker_logs(conf_paths, forge_home="/home/forge"):
    """The log of each Supervisor program file Forge wrote (``/etc/supervisor/conf.d/worker-101.conf``): Forge
    names the program after the file and logs it to ``<forge_home>/.forge/<program>.log``. For logs.yml."""
    out = []
    for path in sorted(conf_paths or []):
        name = os.path.basename(str(path))
        if name.endswith(".conf"):
            program = name[:-len(".conf")]
            out.append({"name": "worker " + program, "path": "%s/.forge/%s.log" % (forge_home, program)})
    return out


class FilterModule(object):
    def filters(self):
        return {
            "forge_compare": forge_compare,
            "forge_drift": forge_drift,
            "forge_worker_logs": forge_worker_logs,
            "forge_model_to_confirm": forge_model_to_confirm,
            "forge_report_markdown": forge_report_markdown,
            "forge_to_confirm_markdown": forge_to_confirm_markdown,
        }
