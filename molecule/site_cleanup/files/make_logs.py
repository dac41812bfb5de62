#!/usr/bin/python3
"""Write the scenario's access logs, dated relative to now (combined format).

charlie (retired, quiet): only old external requests (30 to 60 days ago, in the current log,
its .1 and a .2.gz rotation) and recent health checks from 127.0.0.1 (ignored).
delta (retired, busy): external requests two days ago.
"""
import datetime
import gzip

NOW = datetime.datetime.now(datetime.timezone.utc)


def line(addr, days, path):
    when = (NOW - datetime.timedelta(days=days)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return '%s - - [%s] "GET %s HTTP/1.1" 200 12 "-" "Mozilla/5.0"\n' % (addr, when, path)


def write(path, lines, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt") as handle:
        handle.writelines(lines)


LOG = "/var/log/nginx/"
write(LOG + "charlie.access.log.2.gz", [line("198.51.100.4", d, "/emplois") for d in (60, 55, 50)], gz=True)
write(LOG + "charlie.access.log.1", [line("198.51.100.4", d, "/") for d in (45, 40, 30)])
write(LOG + "charlie.access.log", [line("127.0.0.1", d / 24.0, "/up") for d in (48, 24, 2)])
write(LOG + "delta.access.log.1", [line("198.51.100.9", d, "/") for d in (40, 30)])
write(LOG + "delta.access.log", [line("203.0.113.7", 2, "/offres?page=1"), line("203.0.113.7", 2, "/")])
