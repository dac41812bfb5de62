# -*- coding: utf-8 -*-
"""A folder of compiled Python code objects kept between runs, private to the controller's user.

Used by the callbacks infra.hosting.payload_bytecode (the modules' bytecode shipped to the hosts) and
infra.hosting.template_cache (the compiled Jinja templates the controller renders). What the folder holds is
executed (on the hosts, or by ansible-playbook itself), so it is created with mode 0700 and not used at all when
it belongs to another user or others can write to it. Each entry is one marshalled code object under a hex
digest that the caller computes from everything the code depends on; an entry that does not load is treated as
absent (compiled again, then replaced); writes are atomic (a temporary file renamed over the entry).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import marshal
import os
import stat
import tempfile
import time

_PRIVATE = {}


def private_dir(cache_dir):
    """Create `cache_dir` (mode 0700) if needed; True when it is a directory of this user that only this user can
    write to (and enter). The answer is remembered for the process."""
    if not cache_dir:
        return False
    if cache_dir in _PRIVATE:
        return _PRIVATE[cache_dir]
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        info = os.stat(cache_dir)
        ok = (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
              and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_IXGRP | stat.S_IXOTH))
    except OSError:
        ok = False
    _PRIVATE[cache_dir] = ok
    return ok


def load(cache_dir, digest):
    """The marshalled bytes and the code object kept under `digest`, or (None, None)."""
    if not private_dir(cache_dir):
        return None, None
    try:
        with open(os.path.join(cache_dir, digest), "rb") as handle:
            body = handle.read()
        return body, marshal.loads(body)
    except (OSError, EOFError, ValueError, TypeError):
        return None, None


def store(cache_dir, digest, code):
    """Keep `code` under `digest`; returns its marshalled bytes (also when it could not be kept)."""
    body = marshal.dumps(code)
    if not private_dir(cache_dir):
        return body
    try:
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            os.replace(tmp, os.path.join(cache_dir, digest))
        except OSError:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # not kept: compiled again next time
    return body


def prune(cache_dir, max_age_days, now=None):
    """Remove the entries (and leftover temporary files) older than `max_age_days`; returns how many."""
    if not max_age_days or not private_dir(cache_dir):
        return 0
    limit = (now if now is not None else time.time()) - max_age_days * 86400
    removed = 0
    try:
        entries = list(os.scandir(cache_dir))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            pass
    return removed
