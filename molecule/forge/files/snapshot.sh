#!/bin/sh
# Every file and directory discovery reads, with its mtime, size, mode and checksum: taken after prepare
# and again after each discovery run; the two must be equal (tests/test_forge.py). Logs are left out
# (the worker, which has no vendor/ here, writes its own), and so is MariaDB's data directory.
find /home/forge /etc/nginx /etc/php /etc/supervisor /etc/cron.d /var/spool/cron /etc/sudoers.d -xdev \
  \( -path /home/forge/.forge -o -name '*.log' -o -path '*/storage/logs' \) -prune -o -printf '%p %T@ %s %m\n' | sort
find /home/forge /etc/nginx /etc/php /etc/supervisor /etc/cron.d /var/spool/cron -xdev \
  \( -path /home/forge/.forge -o -name '*.log' -o -path '*/storage/logs' \) -prune -o -type f -print0 | sort -z | xargs -0 md5sum
