"""The plain-language summary of a run and its progress, from ansible-runner's events (pure functions)."""

VALIDATE_PLAY = "Validate the data model"  # playbooks/validate.yml, imported first by the site playbooks
OK_EVENTS = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_skipped": "skipped",
             "runner_on_unreachable": "unreachable"}


def progress(hosts, event):
    """Update `hosts` ({host: {ok, changed, failed, skipped, unreachable, task}}) with one event; return it."""
    kind = OK_EVENTS.get(event.get("event"))
    data = event.get("event_data") or {}
    host = data.get("host")
    if not kind or not host:
        return hosts
    entry = hosts.setdefault(host, {"ok": 0, "changed": 0, "failed": 0, "skipped": 0, "unreachable": 0, "task": ""})
    if kind == "failed" and data.get("ignore_errors"):
        kind = "ok"
    entry[kind] += 1
    if (data.get("res") or {}).get("changed"):
        entry["changed"] += 1
    entry["task"] = data.get("task", "")
    return hosts


def _facts(events, name):
    """{host: value} of the fact `name` set by set_fact in the run."""
    found = {}
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_ok":
            facts = (data.get("res") or {}).get("ansible_facts") or {}
            if name in facts:
                found[data.get("host")] = facts[name]
    return found


def _first_failure(events):
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            res = data.get("res") or {}
            msg = res.get("msg") or res.get("stderr") or res.get("stdout") or ""
            return data.get("host", "?"), data.get("task", "?"), " ".join(str(msg).split())[:400]
    return None


def _health(events):
    hosts = set()
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_ok" and str(data.get("task", "")).startswith("Check the health path"):
            hosts.add(data.get("host"))
    return hosts


def summarize(kind, site, params, status, events, seconds):
    """One or two sentences a non-developer reads at the end of the run."""
    took = f"in {seconds:.0f} s" if seconds is not None else ""
    failure = _first_failure(events)
    if status != "successful":
        if failure:
            host, task, msg = failure
            kept = (", le site garde sa version précédente quand le déploiement échoue"
                    if kind in ("deploy", "rollback") else "")
            return f"{kind} of {site} FAILED on {host} at '{task}' {took}: {msg} / échec{kept}"
        return f"{kind} of {site} {status.upper()} {took} (see the output / voir la sortie)"
    if kind == "deploy":
        shas = _facts(events, "laravel_release_sha")
        current = _facts(events, "laravel_release_current_sha")
        if not shas:
            return f"deploy of {site}: no host of this run serves the site {took}"
        hosts = sorted(shas)
        sha = shas[hosts[0]][:7]
        ref = params.get("ref") or "the site's branch"
        unchanged = [h for h in hosts if current.get(h) == shas[h]]
        healthy = _health(events)
        if len(unchanged) == len(hosts) and not params.get("force"):
            return f"{sha} ({ref}) was already live on {', '.join(hosts)}: nothing to do ({took}) / déjà en place"
        health = "health check OK" if set(hosts) - set(unchanged) <= healthy else "health check not seen"
        return f"deployed {sha} ({ref}) to {', '.join(hosts)} {took}; {health} / déployé"
    if kind == "rollback":
        chosen = _facts(events, "laravel_release_id")
        target = ", ".join(sorted(set(chosen.values()))) or params.get("release") or "the previous release"
        return f"rolled {site} back to {target} {took}; health check OK / retour arrière fait"
    # The hosts the action ran on: validate.yml's play (imported first, on every host) does not count.
    hosts = sorted({(e.get("event_data") or {}).get("host") for e in events if e.get("event") in OK_EVENTS
                    and (e.get("event_data") or {}).get("play") != VALIDATE_PLAY} - {None})
    return f"{kind} of {site or 'every site'} done on {', '.join(hosts) or 'no host'} {took} / terminé"
