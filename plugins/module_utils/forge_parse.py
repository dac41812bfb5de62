# -*- coding: utf-8 -*-
"""Pure parsers of the Forge discovery (no file system access: unit-tested, tests/unit/plugins/module_utils/test_forge_parse.py).

The Nginx, PHP-FPM, Supervisor and cron parsers are site_parse's (the site cleanup's): this file
adds what discovery needs beyond them.

- ``env_file(text, value_keys)``: the names of a ``.env`` file's variables, and the values of the
  few names in ``value_keys`` only (never any other value).
- ``php_version_of(socket)``, ``pool_php_version(path)``: the PHP version of a socket, of a pool file.
- ``server_directive_lines(text)``: the line of each directive of each server block (drift names it).
- ``forge_site(server, path, lines)``: one Nginx server block as a discovered site.
- ``supervisor_workers(text)``: Supervisor programs with their numprocs and queue.
- ``os_release(text)``: ID, VERSION_ID and PRETTY_NAME of /etc/os-release.
- ``env_merge(text, values, remove)``: a ``.env`` with the model's values merged in, every other line kept
  (the ``forge_env`` module writes it on a Forge site); ``env_quote(value)``: one value as Forge writes it.

Malformed input raises site_parse's ``ParseError`` naming the file and the line.
"""

from __future__ import absolute_import, division, print_function

import re
import shlex

from ansible_collections.infra.hosting.plugins.module_utils.site_parse import ParseError, _ini_sections, _walk_servers, nginx_parse, supervisor_programs

# The only .env values discovery ever reads: non-secret settings that say where an app's data and
# queues live. Every other variable is reported by name only.
ENV_VALUE_KEYS = ("DB_CONNECTION", "DB_HOST", "DB_DATABASE", "QUEUE_CONNECTION", "CACHE_DRIVER",
                  "CACHE_STORE", "SESSION_DRIVER", "SCOUT_DRIVER")

_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_PHP_SOCKET = re.compile(r"php(\d+\.\d+)-fpm")
_POOL_PATH = re.compile(r"/php/(\d+\.\d+)/fpm/")


def _env_value(raw, lines, index, source, number):
    """The value starting at ``raw`` (quotes may span lines); returns (value, next line index)."""
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        body = raw[1:]
        while True:
            end = body.find(quote)
            while end > 0 and quote == '"' and body[end - 1] == "\\":
                end = body.find(quote, end + 1)
            if end >= 0:
                return body[:end], index
            if index >= len(lines):
                raise ParseError("%s:%d: unterminated quoted value" % (source, number))
            body += "\n" + lines[index]
            index += 1
    return raw.split(" #", 1)[0].strip(), index


def env_file(text, value_keys=ENV_VALUE_KEYS, source="<string>"):
    """{'keys': [names in file order], 'values': {name: value for name in value_keys present}}.

    Comments, blank lines and ``export`` are allowed; a quoted value may span lines. A line that
    is not ``NAME=value`` raises ParseError. A name repeated keeps its last value (as Laravel's
    dotenv does) and is listed once.
    """
    lines = text.splitlines()
    keys, values, index = [], {}, 0
    while index < len(lines):
        number = index + 1
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if not match:
            # The line itself is not shown: it may be part of a secret value.
            raise ParseError("%s:%d: expected NAME=value" % (source, number))
        name = match.group(1)
        value, index = _env_value(match.group(2), lines, index, source, number)
        if name not in keys:
            keys.append(name)
        if name in value_keys:
            values[name] = value
    return {"keys": keys, "values": values}


def php_version_of(socket):
    """'unix:/var/run/php/php8.2-fpm.sock' -> '8.2'; None when the socket names no version."""
    match = _PHP_SOCKET.search(socket or "")
    return match.group(1) if match else None


def server_directive_lines(text, source="<string>"):
    """For each server block, in order: {directive name: line of its first occurrence} (nested blocks included)."""
    result = []
    for server in _walk_servers(nginx_parse(text, source)):
        lines = {}

        def visit(nodes, lines):
            for node in nodes:
                lines.setdefault(node["name"], node["line"])
                if node["block"] is not None:
                    visit(node["block"], lines)

        visit(server["block"], lines)
        result.append(lines)
    return result


def pool_php_version(path):
    """'/etc/php/8.2/fpm/pool.d/www.conf' -> '8.2'; None elsewhere."""
    match = _POOL_PATH.search(path or "")
    return match.group(1) if match else None


def forge_site(server, path, directive_lines=None):
    """A discovered site from one of site_parse.nginx_server_blocks' server blocks (and its directive lines)."""
    versions = [v for v in (php_version_of(s) for s in server["fastcgi_pass"]) if v]
    return {
        "file": path, "line": server["line"], "server_names": server["server_names"],
        "roots": server["roots"], "listen": server["listen"],
        "tls": any("ssl" in item.split() or item.split()[0].endswith("443") for item in server["listen"]),
        # site_parse lists ssl_certificate and ssl_certificate_key together: keep the certificates.
        "certificates": [c for c in server["certificates"] if "key" not in c.rsplit("/", 1)[-1].lower()],
        "fastcgi_pass": server["fastcgi_pass"], "php_versions": sorted(set(versions)),
        "includes": server["includes"], "directive_lines": directive_lines or {},
    }


def _queue_of(command):
    try:
        words = shlex.split(command or "")
    except ValueError:
        words = (command or "").split()
    for pos, word in enumerate(words):
        if word.startswith("--queue="):
            return word.split("=", 1)[1].strip("\"'")
        if word == "--queue" and pos + 1 < len(words):
            return words[pos + 1].strip("\"'")
    return "default"


def supervisor_workers(text, source="<string>"):
    """site_parse.supervisor_programs plus ``numprocs`` (int) and ``queue`` (``--queue``, else default)."""
    numprocs = {}
    for name, values, line in _ini_sections(text, source):
        if name.startswith("program:"):
            raw = values.get("numprocs", "1")
            if not raw.isdigit():
                raise ParseError("%s:%d: numprocs is not a number: %r" % (source, line, raw))
            numprocs[name.split(":", 1)[1]] = int(raw)
    programs = supervisor_programs(text, source)
    for program in programs:
        program["numprocs"] = numprocs.get(program["name"], 1)
        program["queue"] = _queue_of(program["command"]) if program["is_worker"] else None
    return programs


def os_release(text):
    """{'id', 'version_id', 'pretty_name'} of an os-release file (missing fields are None)."""
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip("\"'")
    return {"id": values.get("ID"), "version_id": values.get("VERSION_ID"), "pretty_name": values.get("PRETTY_NAME")}


_ENV_PLAIN = re.compile(r"^[A-Za-z0-9_./:@+,-]*$")
_UNESCAPE = re.compile(r"\\(.)")


def _env_unquote(raw, quoted_with):
    """The value as Laravel's dotenv reads it: double quotes unescape \\\\ \\" \\$ \\n."""
    if quoted_with != '"':
        return raw
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), raw)


def env_quote(value):
    """A value as Forge's editor leaves it: bare when plain, else double-quoted with escapes."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if _ENV_PLAIN.match(text):
        return text
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
    return '"%s"' % text


def env_merge(text, values, remove=(), source="<string>"):
    """Merge ``values`` ({NAME: value}) into the ``.env`` ``text``; drop the names in ``remove``.

    Every other line (comments, blank lines, names the model does not know) stays as it is, in its
    place; a name whose value already equals the wanted one keeps its line byte for byte; a name not
    present is appended at the end. Returns {'content', 'changed' (names given another value),
    'added', 'removed', 'kept' (names present and not in ``values``: unknown to the model)}.
    Malformed text raises ParseError naming the line (never its text).
    """
    values = {str(k): v for k, v in (values or {}).items()}
    remove = set(remove or ()) - set(values)
    lines = text.splitlines()
    out, seen, changed, removed, kept, index = [], set(), [], [], [], 0
    while index < len(lines):
        number, start = index + 1, index
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            out.append(lines[start])
            continue
        match = _ENV_LINE.match(line)
        if not match:
            raise ParseError("%s:%d: expected NAME=value" % (source, number))
        name, raw = match.group(1), match.group(2)
        value, index = _env_value(raw, lines, index, source, number)
        original = lines[start:index]
        if name in remove:
            if name not in removed:
                removed.append(name)
            continue
        if name in values:
            seen.add(name)
            wanted = env_quote(values[name])
            wanted_value = values[name]
            wanted_text = "" if wanted_value is None else (
                ("true" if wanted_value else "false") if isinstance(wanted_value, bool) else str(wanted_value))
            if _env_unquote(value, raw[:1]) == wanted_text:
                out.extend(original)
            else:
                out.append("%s=%s" % (name, wanted))
                if name not in changed:
                    changed.append(name)
            continue
        if name not in kept:
            kept.append(name)
        out.extend(original)
    added = [name for name in values if name not in seen]
    for name in added:
        out.append("%s=%s" % (name, env_quote(values[name])))
    content = "\n".join(out) + ("\n" if out else "")
    return {"content": content, "changed": changed, "added": added, "removed": removed, "kept": kept}
