# -*- coding: utf-8 -*-
"""Archive of a retired site: checksummed tar.gz, manifest, restore script, verification.

- ``collect(paths)``: the entries to archive (every file, directory and symlink under the paths).
- ``write_archive(archive, entries, manifest, extra)``: the tar.gz, then its ``.sha256``.
- ``verify_archive(archive, manifest)``: re-reads the checksum from disk and compares the tar
  listing (and each regular file's sha256) with the manifest; returns a list of problems.
- ``restore_script(manifest)``: the shell commands that bring the site back.
"""

from __future__ import absolute_import, division, print_function

import hashlib
import io
import json
import os
import shlex
import stat
import tarfile

META_DIR = "_retire"


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def collect(paths):
    """[{path, type, sha256?, size}] for every entry under ``paths`` (symlinks not followed)."""
    entries, seen = [], set()

    def add(path):
        if path in seen or not os.path.lexists(path):
            return
        seen.add(path)
        st = os.lstat(path)
        entry = {"path": path, "size": st.st_size}
        if stat.S_ISLNK(st.st_mode):
            entry["type"] = "symlink"
            entry["target"] = os.readlink(path)
        elif stat.S_ISDIR(st.st_mode):
            entry["type"] = "dir"
        elif stat.S_ISREG(st.st_mode):
            entry["type"] = "file"
            entry["sha256"] = sha256_file(path)
        else:
            return  # sockets, fifos: not archived (a socket is recreated by its service)
        entries.append(entry)
        if entry["type"] == "dir":
            for name in sorted(os.listdir(path)):
                add(os.path.join(path, name))

    for path in paths:
        add(path)
    return entries


def arcname(path):
    return path.lstrip("/")


def write_archive(archive, entries, manifest, extra):
    """Write ``archive`` (entries + _retire/manifest.json + extra {name: text}); returns its sha256."""
    parent = os.path.dirname(archive)
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    tmp = archive + ".partial"
    with tarfile.open(tmp, "w:gz") as tar:
        for entry in entries:
            tar.add(entry["path"], arcname=arcname(entry["path"]), recursive=False)
        files = dict(extra)
        files["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        for name, text in sorted(files.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo("%s/%s" % (META_DIR, name))
            info.size = len(data)
            info.mode = 0o700 if name.endswith(".sh") else 0o600
            tar.addfile(info, io.BytesIO(data))
    os.chmod(tmp, 0o600)
    os.rename(tmp, archive)
    digest = sha256_file(archive)
    with open(archive + ".sha256", "w", encoding="utf-8") as handle:
        handle.write("%s  %s\n" % (digest, os.path.basename(archive)))
    return digest


def verify_archive(archive, manifest):
    """Problems found when re-reading the archive (empty list: verified)."""
    problems = []
    with open(archive + ".sha256", encoding="utf-8") as handle:
        recorded = handle.read().split()[0]
    if sha256_file(archive) != recorded:
        problems.append("checksum of %s differs from its .sha256" % archive)
    expected = {arcname(e["path"]): e for e in manifest["entries"]}
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        listed = {n for n in members if not n.startswith(META_DIR + "/")}
        for name in sorted(set(expected) - listed):
            problems.append("missing from the archive: /%s" % name)
        for name in sorted(listed - set(expected)):
            problems.append("in the archive but not in the manifest: /%s" % name)
        for name, entry in expected.items():
            member = members.get(name)
            if member is None or entry["type"] != "file":
                continue
            digest = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
            if digest != entry["sha256"]:
                problems.append("content of /%s differs from the manifest" % name)
    return problems


def restore_script(manifest):
    """Shell script (run as root, archive path as $1) that brings the site back serving."""
    q = shlex.quote
    user = manifest.get("user")
    lines = [
        "#!/bin/sh",
        "# Restore %s, retired on %s by the site cleanup (%s)." % (manifest["site"], manifest["retired_at"], manifest["host"]),
        "# Usage: sh restore.sh [ARCHIVE]   (as root; the .sha256 file next to the archive is checked)",
        "set -eu",
        'ARCHIVE="${1:-%s}"' % manifest["archive"],
        'cd "$(dirname "$ARCHIVE")" && sha256sum -c "$(basename "$ARCHIVE").sha256"',
    ]
    if user:
        lines += [
            "getent group %s >/dev/null || groupadd -g %d %s" % (q(user["group"]), user["gid"], q(user["group"])),
            "getent passwd %s >/dev/null || useradd -M -u %d -g %d -d %s -s %s %s" % (
                q(user["name"]), user["uid"], user["gid"], q(user["home"]), q(user["shell"]), q(user["name"])),
        ]
        for member in user.get("group_members") or []:
            lines.append("usermod -a -G %s %s" % (q(user["group"]), q(member)))
    lines.append('tar -xpzf "$ARCHIVE" -C / --exclude=%s' % META_DIR)
    if manifest.get("crontab") and user:
        lines.append('tar -xzf "$ARCHIVE" -O %s/crontab | crontab -u %s -' % (META_DIR, q(user["name"])))
    lines.append("systemctl daemon-reload")
    for unit in manifest.get("units_enabled") or []:
        lines.append("systemctl enable %s" % q(unit))
    for unit in manifest.get("units_active") or []:
        lines.append("systemctl start %s" % q(unit))
    for version in manifest.get("fpm_reload") or []:
        lines.append("php-fpm%s -t && systemctl reload php%s-fpm" % (version, version))
    if manifest.get("supervisor"):
        lines.append("supervisorctl reread && supervisorctl update")
    if manifest.get("nginx"):
        lines.append("nginx -t && systemctl reload nginx")
    lines.append('echo "%s restored from $ARCHIVE"' % manifest["site"])
    return "\n".join(lines) + "\n"
