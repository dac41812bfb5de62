# -*- coding: utf-8 -*-
"""Pure parsers and rules of the site cleanup (no file system access: unit-tested).

- ``nginx_server_blocks(text)``: server blocks of an Nginx file, through a small tokenizer
  (comments, quoted strings, nested blocks; includes are recorded, not followed).
- ``fpm_pools(text)``: PHP-FPM pools of an ini file (``[name]``, user, listen).
- ``systemd_unit(text)``: User=, ExecStart= of a unit, and whether it runs a queue worker.
- ``supervisor_programs(text)``: ``[program:x]`` blocks (command, user, directory).
- ``cron_entries(text, system)``: cron lines running ``artisan schedule:run`` (or any artisan).
- ``site_identities(sites)`` and ``claim(item, identities)``: which site claims a thing.
- ``count_requests(lines, ...)``: traffic evidence from combined-format access logs.

Malformed input raises ``ParseError`` with the file name and line: callers stop there and
remove nothing.
"""

from __future__ import absolute_import, division, print_function

import datetime
import re


class ParseError(ValueError):
    """A file could not be parsed; the message names the file and the line."""


# ---------------------------------------------------------------------------------------- nginx
def nginx_tokens(text, source="<string>"):
    """Yield (token, kind, line): kind is 'word', '{', '}' or ';'. Quotes and escapes honoured."""
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch in " \t\r":
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in "{};":
            yield ch, ch, line
            i += 1
        elif ch in "\"'":
            quote, start_line, i, buf = ch, line, i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n:
                    buf.append(text[i + 1])
                    i += 2
                    continue
                if text[i] == "\n":
                    line += 1
                buf.append(text[i])
                i += 1
            if i >= n:
                raise ParseError("%s:%d: unterminated quoted string" % (source, start_line))
            i += 1
            yield "".join(buf), "word", start_line
        else:
            buf = []
            while i < n and text[i] not in " \t\r\n{};\"'":
                if text[i] == "\\" and i + 1 < n:
                    buf.append(text[i + 1])
                    i += 2
                    continue
                if text[i] == "#" and not buf:
                    break
                buf.append(text[i])
                i += 1
            yield "".join(buf), "word", line


def nginx_parse(text, source="<string>"):
    """Parse into a tree: a list of {'name', 'args', 'line', 'block' (list or None)}."""
    root = []
    stack = [root]
    current = []
    cur_line = None
    for tok, kind, line in nginx_tokens(text, source):
        if kind == "word":
            if not current:
                cur_line = line
            current.append(tok)
        elif kind == ";":
            if not current:
                raise ParseError("%s:%d: unexpected ';'" % (source, line))
            stack[-1].append({"name": current[0], "args": current[1:], "line": cur_line, "block": None})
            current = []
        elif kind == "{":
            if not current:
                raise ParseError("%s:%d: block without a name" % (source, line))
            node = {"name": current[0], "args": current[1:], "line": cur_line, "block": []}
            stack[-1].append(node)
            stack.append(node["block"])
            current = []
        else:  # '}'
            if current:
                raise ParseError("%s:%d: directive '%s' not terminated by ';'" % (source, line, current[0]))
            if len(stack) == 1:
                raise ParseError("%s:%d: unbalanced '}'" % (source, line))
            stack.pop()
    if current:
        raise ParseError("%s: end of file inside directive '%s' (missing ';')" % (source, current[0]))
    if len(stack) != 1:
        raise ParseError("%s: end of file with %d unclosed block(s) (unbalanced braces)" % (source, len(stack) - 1))
    return root


def _walk_servers(nodes):
    for node in nodes:
        if node["block"] is None:
            continue
        if node["name"] == "server":
            yield node
        else:  # http { server { } } in a full nginx.conf
            yield from _walk_servers(node["block"])


def nginx_server_blocks(text, source="<string>"):
    """Server blocks of one file: server_names, roots, listen, access_logs, includes, fastcgi_pass."""
    servers = []
    for node in _walk_servers(nginx_parse(text, source)):
        info = {"line": node["line"], "server_names": [], "roots": [], "listen": [],
                "access_logs": [], "includes": [], "fastcgi_pass": [], "certificates": []}

        def visit(nodes, info):
            for child in nodes:
                name, args = child["name"], child["args"]
                if name == "server_name":
                    info["server_names"].extend(a.lower() for a in args if a not in ("_", '""', ""))
                elif name == "root" and args:
                    info["roots"].append(args[0])
                elif name == "listen" and args:
                    info["listen"].append(" ".join(args))
                elif name == "access_log" and args and args[0] != "off":
                    info["access_logs"].append(args[0])
                elif name == "include" and args:
                    info["includes"].append(args[0])
                elif name == "fastcgi_pass" and args:
                    info["fastcgi_pass"].append(args[0])
                elif name in ("ssl_certificate", "ssl_certificate_key") and args:
                    info["certificates"].append(args[0])
                if child["block"] is not None:
                    visit(child["block"], info)

        visit(node["block"], info)
        for key in info:
            if isinstance(info[key], list):
                info[key] = list(dict.fromkeys(info[key]))
        servers.append(info)
    return servers


# ------------------------------------------------------------------------------------ ini-likes
_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")


def _ini_sections(text, source, comment_chars=";#"):
    """[(section, {key: value}, line)] of an ini file; keys lower-cased, last value wins."""
    sections = []
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in comment_chars:
            continue
        match = _SECTION.match(line)
        if match:
            current = (match.group(1).strip(), {}, number)
            sections.append(current)
            continue
        if line.startswith("["):
            raise ParseError("%s:%d: malformed section header %r" % (source, number, line))
        if "=" not in line:
            raise ParseError("%s:%d: expected 'key = value', got %r" % (source, number, line))
        if current is None:
            raise ParseError("%s:%d: setting outside of any section" % (source, number))
        key, value = line.split("=", 1)
        current[1][key.strip().lower()] = value.strip().strip('"')
    return sections


def fpm_pools(text, source="<string>"):
    """Pools of a PHP-FPM ini file: [{name, user, group, listen, chdir, line}] (not [global])."""
    pools = []
    for name, values, line in _ini_sections(text, source):
        if name == "global":
            continue
        pools.append({"name": name, "user": values.get("user"), "group": values.get("group"),
                      "listen": values.get("listen"), "chdir": values.get("chdir"), "line": line})
    return pools


def systemd_unit(text, source="<string>"):
    """User=, ExecStart=, WorkingDirectory= of a unit; is_worker when it runs artisan queue:work."""
    info = {"user": None, "exec_start": [], "working_directory": None}
    for name, values, _line in _ini_sections_multi(text, source):
        if name != "Service":
            continue
        info["user"] = values.get("user", [None])[-1]
        info["exec_start"] = values.get("execstart", [])
        info["working_directory"] = values.get("workingdirectory", [None])[-1]
    joined = " ".join(info["exec_start"])
    info["is_worker"] = bool(re.search(r"artisan\s+(queue:work|queue:listen|horizon)", joined))
    info["is_scheduler"] = "schedule:run" in joined
    info["is_fpm"] = "php-fpm" in joined
    return info


def _ini_sections_multi(text, source):
    """Like _ini_sections, for systemd: repeated keys kept, '#' and ';' comments, continuations."""
    sections = []
    current = None
    pending = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        match = _SECTION.match(line)
        if match:
            current = (match.group(1).strip(), {}, number)
            sections.append(current)
            continue
        if "=" not in line or line.startswith("["):
            raise ParseError("%s:%d: expected 'Key=value', got %r" % (source, number, line))
        if current is None:
            raise ParseError("%s:%d: setting outside of any section" % (source, number))
        key, value = line.split("=", 1)
        current[1].setdefault(key.strip().lower(), []).append(value.strip())
    return sections


def supervisor_programs(text, source="<string>"):
    """[program:x] blocks: [{name, command, user, directory, is_worker}]."""
    programs = []
    for name, values, line in _ini_sections(text, source):
        if not name.startswith("program:"):
            continue
        command = values.get("command", "")
        programs.append({"name": name.split(":", 1)[1], "command": command, "user": values.get("user"),
                         "directory": values.get("directory"), "line": line,
                         "is_worker": bool(re.search(r"artisan\s+(queue:work|queue:listen|horizon)", command))})
    return programs


_CRON_FIELD = re.compile(r"^(\*|\d+|[A-Za-z]{3})([-/,](\*|\d+|[A-Za-z]{3}))*$")
_CRON_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")


def cron_entries(text, source="<string>", system=True):
    """Cron lines mentioning artisan: [{line, schedule, user, command}].

    ``system``: /etc/cron.d format (a user field after the five time fields); user crontabs
    have none. Lines that are not comments, variables or valid entries raise ParseError.
    """
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or _CRON_ENV.match(line):
            continue
        fields = line.split()
        if fields[0].startswith("@"):
            sched, rest = fields[:1], fields[1:]
        else:
            sched, rest = fields[:5], fields[5:]
            if len(sched) < 5 or not all(_CRON_FIELD.match(f) for f in sched):
                raise ParseError("%s:%d: not a cron entry: %r" % (source, number, line))
        user = None
        if system:
            if not rest:
                raise ParseError("%s:%d: cron.d entry without a user: %r" % (source, number, line))
            user, rest = rest[0], rest[1:]
        if not rest:
            raise ParseError("%s:%d: cron entry without a command: %r" % (source, number, line))
        command = " ".join(rest)
        if "artisan" in command:
            entries.append({"line": number, "schedule": " ".join(sched), "user": user, "command": command,
                            "is_scheduler": "schedule:run" in command})
    return entries


# ------------------------------------------------------------------------------------- claiming
GENERIC_USERS = ("root", "www-data", "forge", "nobody", "nginx")
SITE_ROOTS = ("/srv/www", "/home/forge")


def site_identities(sites, site_root="/srv/www", forge_root="/home/forge"):
    """{site: {domains, user, dirs, status}} from the data model's sites dict."""
    result = {}
    for name, site in (sites or {}).items():
        site = site or {}
        domains = [d.lower() for d in site.get("domains") or []]
        dirs = ["%s/%s" % (site_root, name)] + ["%s/%s" % (forge_root, d) for d in domains]
        result[name] = {"domains": domains, "user": name, "dirs": dirs,
                        "status": site.get("status", "active")}
    return result


def _under(path, directory):
    path = (path or "").rstrip("/")
    return path == directory or path.startswith(directory + "/")


def claim(item, identities):
    """Name of the site that claims ``item`` (or None), and why.

    A thing is claimed by a site when one of its server names / domains is a domain of the
    site, its user is the site's user, or one of its paths is (under) the site's directory.
    """
    names = [n.lower() for n in item.get("server_names") or []] + [d.lower() for d in item.get("domains") or []]
    for site, ident in sorted(identities.items()):
        for name in names:
            if name in ident["domains"]:
                return site, "domain %s" % name
    for name in item.get("site_names") or []:
        if name in identities:
            return name, "name %s" % name
    user = item.get("user")
    if user and user not in GENERIC_USERS and user in identities:
        return user, "user %s" % user
    for site, ident in sorted(identities.items()):
        for path in item.get("paths") or []:
            for directory in ident["dirs"]:
                if _under(path, directory):
                    return site, "path %s" % directory
    return None, None


def site_dir_of(path):
    """The site directory a path lives in (/srv/www/<x> or /home/forge/<x>), or None."""
    for root in SITE_ROOTS:
        if _under(path, root) and path.rstrip("/") != root:
            rest = path.rstrip("/")[len(root) + 1:]
            first = rest.split("/", 1)[0]
            if first and not first.startswith("."):
                return "%s/%s" % (root, first)
    return None


def paths_in(text):
    """Site directories mentioned in a command line."""
    found = []
    for token in re.split(r"[\s;&|'\"=]+", text or ""):
        directory = site_dir_of(token)
        if directory and directory not in found:
            found.append(directory)
    return found


# --------------------------------------------------------------------------------------- traffic
_COMBINED = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "(?:[A-Z]+ )?(\S*)[^"]*" (\d{3}) ')
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def parse_log_time(text):
    """'10/Oct/2026:13:55:36 -0400' -> aware datetime, or None."""
    try:
        day, mon, rest = text.split("/", 2)
        year, hh, mm, rest2 = rest.split(":", 3)
        ss, zone = rest2.split(" ")
        sign = -1 if zone[0] == "-" else 1
        offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
        return datetime.datetime(int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss),
                                 tzinfo=datetime.timezone(offset))
    except (ValueError, KeyError, IndexError):
        return None


def count_requests(lines, now, window_days, ignore_paths=("/up",), ignore_addresses=("127.0.0.1", "::1")):
    """Traffic evidence from access log lines (combined format).

    Requests within the window count, except health checks (``ignore_paths``, from any
    address) and local monitoring (any request from ``ignore_addresses``). The window
    covered runs from the oldest line read (logs rotate) to ``now``.
    """
    start = now - datetime.timedelta(days=window_days)
    result = {"requests": 0, "ignored": 0, "unparsed": 0, "lines": 0, "oldest": None, "newest": None,
              "last_request": None}
    oldest = newest = last = None
    for line in lines:
        result["lines"] += 1
        match = _COMBINED.match(line)
        when = match and parse_log_time(match.group(2))
        if not when:
            result["unparsed"] += 1
            continue
        oldest = when if oldest is None or when < oldest else oldest
        newest = when if newest is None or when > newest else newest
        if when < start:
            continue
        addr, path = match.group(1), match.group(3).split("?", 1)[0]
        if path in ignore_paths or addr in ignore_addresses:
            result["ignored"] += 1
            continue
        result["requests"] += 1
        last = when if last is None or when > last else last
    result["oldest"] = oldest.isoformat() if oldest else None
    result["newest"] = newest.isoformat() if newest else None
    result["last_request"] = last.isoformat() if last else None
    covered_from = max(oldest, start) if oldest else None
    result["window"] = {"days": window_days, "start": start.isoformat(), "end": now.isoformat(),
                        "covered_from": covered_from.isoformat() if covered_from else None,
                        "covers_whole_window": bool(oldest and oldest <= start)}
    result["ignoring"] = "requests to %s and requests from %s" % (", ".join(ignore_paths), ", ".join(ignore_addresses))
    return result


# -------------------------------------------------------------------------------------- releases
def releases_to_prune(release_ids, current, keep):
    """Release ids to delete: beyond the ``keep`` newest, never the current nor the previous one.

    Ids sort by name (timestamps, as deploys name them). ``previous`` is the newest release
    older than the current one; it stays so that a rollback always has a target.
    """
    keep = max(int(keep), 0)
    ordered = sorted(release_ids)
    protected = set(ordered[-keep:]) if keep else set()
    if current in ordered:
        protected.add(current)
        index = ordered.index(current)
        if index > 0:
            protected.add(ordered[index - 1])
    elif ordered:
        # No (valid) current link: keep the two newest, whatever keep says.
        protected.update(ordered[-2:])
    return [r for r in ordered if r not in protected]
