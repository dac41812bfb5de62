#!/usr/bin/env bash
# Start the web console (docs/console.md): database migrations, the admin account on first start
# (password from CONSOLE_ADMIN_PASSWORD, or generated and printed once), the worker (huey) and the web
# server (gunicorn) on loopback. Stop it with Ctrl-C (or a TERM to this script): both stop.
#   bash scripts/console.sh
#   CONSOLE_INVENTORY=inventories/production CONSOLE_VAULT_PASSWORD_FILE=/run/secrets/vault bash scripts/console.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$here/.venv/bin:$PATH" PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=console.settings
bind=${CONSOLE_BIND:-127.0.0.1:${CONSOLE_PORT:-8000}}
manage=(python console/manage.py)
"${manage[@]}" migrate --noinput -v0
"${manage[@]}" collectstatic --noinput -v0
"${manage[@]}" console_recover
"${manage[@]}" console_user "${CONSOLE_ADMIN_USER:-admin}" admin --if-missing --password-env CONSOLE_ADMIN_PASSWORD
# Used once: neither the worker (whose environment every run inherits) nor the web server keeps it.
unset CONSOLE_ADMIN_PASSWORD
# An idle huey polls its queue less and less often, up to every 10 s by default: a click after a quiet
# minute then waited up to 10 s before its run started. Polling the SQLite queue once a second costs nothing.
"${manage[@]}" run_huey --workers "${CONSOLE_WORKERS:-3}" --worker-type thread --max-delay "${CONSOLE_QUEUE_MAX_DELAY:-1}" &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM
echo "console: http://$bind/ (inventory ${CONSOLE_INVENTORY:-inventories/lab})"
gunicorn --bind "$bind" --workers "${CONSOLE_WEB_WORKERS:-2}" --threads 4 --access-logfile - console.wsgi &
web=$!
trap 'kill "$worker" "$web" 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
# Either one stopping stops the console.
wait -n "$worker" "$web"
