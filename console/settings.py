"""Settings of the web console (docs/console.md). Everything an operator changes comes from the environment.

CONSOLE_DATA_DIR       where the SQLite database, the queue and the runs live (default <repo>/.cache/console)
CONSOLE_RUNS_DIR       private data directories of ansible-runner, one per run (default <data dir>/runs)
CONSOLE_INVENTORY      inventory the playbooks run on (default inventories/lab; production is explicit)
CONSOLE_VAULT_PASSWORD_FILE  vault password file handed to ansible-runner (never read by the console)
DATABASE_URL           e.g. postgres://console:...@db.internal:5432/console (default: SQLite in the data dir)
CONSOLE_SECRET_KEY     Django's secret key (default: generated once into <data dir>/secret_key, mode 0600)
CONSOLE_SECURE_COOKIES 1 behind TLS (default 0 on loopback): Secure session and CSRF cookies, HSTS
CONSOLE_ALLOWED_HOSTS  comma separated (default 127.0.0.1,localhost)
CONSOLE_SMTP_HOST/PORT, CONSOLE_MAIL_FROM, CONSOLE_NOTIFY_EMAILS, CONSOLE_WEBHOOK_URL  global notifications
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from huey import SqliteHuey

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CONSOLE_DATA_DIR", REPO_ROOT / ".cache" / "console")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
CONSOLE_RUNS_DIR = Path(os.environ.get("CONSOLE_RUNS_DIR", DATA_DIR / "runs")).resolve()
CONSOLE_INVENTORY = os.environ.get("CONSOLE_INVENTORY", "inventories/lab")
CONSOLE_VAULT_PASSWORD_FILE = os.environ.get("CONSOLE_VAULT_PASSWORD_FILE", "")
# Seconds a status (dashboard) reading stays fresh before the dashboard offers a refresh.
CONSOLE_STATUS_MAX_AGE = int(os.environ.get("CONSOLE_STATUS_MAX_AGE", "600"))
# Seconds between two refreshes of the dashboard's live part (htmx polling of the cached readings and runs).
CONSOLE_DASHBOARD_REFRESH = int(os.environ.get("CONSOLE_DASHBOARD_REFRESH", "15"))
# Logs "follow": seconds between the end of one reading (logs.yml) and the next, and how many readings at most.
CONSOLE_LOGS_FOLLOW_SECONDS = int(os.environ.get("CONSOLE_LOGS_FOLLOW_SECONDS", "10"))
CONSOLE_LOGS_FOLLOW_ROUNDS = int(os.environ.get("CONSOLE_LOGS_FOLLOW_ROUNDS", "60"))
# Artisan commands the console offers (each is still checked by plugins/filter/artisan.py's artisan_refusal).
CONSOLE_ARTISAN_ALLOWED = [
    "about", "migrate --force", "migrate:status", "config:cache", "config:clear", "route:cache", "route:list",
    "view:cache", "view:clear", "optimize", "optimize:clear", "queue:restart", "schedule:list", "cache:clear",
]


def _secret_key():
    if os.environ.get("CONSOLE_SECRET_KEY"):
        return os.environ["CONSOLE_SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("CONSOLE_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("CONSOLE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_htmx",
    "huey.contrib.djhuey",
    "console.web",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (htmx, the style sheet) served by the app itself: no other web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: django-axes counts failed sign-ins and locks out (AXES_* below).
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "console.web.roles.context",
    ]},
}]

# SQLite by default (IMMEDIATE transactions: the one-run-per-site check and the insert are serialized);
# PostgreSQL with DATABASE_URL=postgres://... (psycopg installed).
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "console.sqlite3",
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
    }}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The worker: huey with its SQLite storage (scripts/console.sh: run_huey with a few threads, so that
# different sites run side by side (one run per site at a time is enforced when a run is queued).
HUEY = SqliteHuey(name="console", filename=str(DATA_DIR / "queue.sqlite3"),
                  immediate=os.environ.get("CONSOLE_HUEY_IMMEDIATE", "0") == "1")


LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-in rate limit: 5 failures lock the username from that address for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("CONSOLE_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

SECURE = os.environ.get("CONSOLE_SECURE_COOKIES", "0") == "1"
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CONSOLE_TRUSTED_ORIGINS", "").split(",") if o]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

EMAIL_HOST = os.environ.get("CONSOLE_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("CONSOLE_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("CONSOLE_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CONSOLE_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("CONSOLE_SMTP_STARTTLS", "0") == "1"
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("CONSOLE_MAIL_FROM", "console@localhost")
CONSOLE_NOTIFY_EMAILS = [a for a in os.environ.get("CONSOLE_NOTIFY_EMAILS", "").split(",") if a]
CONSOLE_WEBHOOK_URL = os.environ.get("CONSOLE_WEBHOOK_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CONSOLE_LOG_LEVEL", "INFO")},
}
