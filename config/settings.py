"""Settings for tiaochu, read from the environment with embedded defaults.

Without any environment the project runs on a SQLite file and the in-memory channel
layer; DATABASE_URL and REDIS_URL move it to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TIAOCHU_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated on first use and kept in
    var/, so no usable secret ever sits in the repository."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = envbool("DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "channels",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The layers of the house, from the bottom up (docs/architecture.md).
    "cases",
    "notifications",
    "workflow",
    "screening",
    "reports",
    "paper",
    "desk",
    "api",
    "demo",
    # After our apps, so our templates (login, shell) override viewflow's.
    "viewflow",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.OneReadingOfReach",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # viewflow's shell: which site and application a page belongs to (menus), and the
    # 422/303 answers Turbo needs to show a form with errors or follow a redirect.
    "viewflow.middleware.SiteMiddleware",
    "viewflow.middleware.HotwireTurboMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "desk.context.desk",
            ],
        },
    },
]


def _databases() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        url = f"sqlite:///{VAR_DIR / 'tiaochu.sqlite3'}"
        VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Health checks: a connection kept open (DB_CONN_MAX_AGE > 0) is tested before it is
    # reused, so after a database restart the first query on it reconnects instead of
    # failing. The consumers' queries share one long-lived thread: without the check, the
    # first socket opened after a restart was refused with a 500.
    db = dj_database_url.parse(url, conn_max_age=envint("DB_CONN_MAX_AGE", 0), conn_health_checks=True)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["OPTIONS"] = {
            # IMMEDIATE: a transaction takes the write lock when it begins, so concurrent
            # writers queue on busy_timeout instead of failing on lock upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not Django's shared in-memory database: threads in the concurrency
        # tests need real SQLite locking, which shared-cache memory databases lack.
        # One file per test process, so two runs side by side do not share it.
        db["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    elif db["ENGINE"] == "django.db.backends.postgresql":
        # No JIT compilation: over a million cases the planner's cost of a list's count
        # passes jit_above_cost, and compiling took 0.4–1 s of a query that runs in 40 ms.
        db.setdefault("OPTIONS", {})["options"] = "-c jit=off"
        # DB_POOL_SIZE > 0: each process keeps up to that many connections in a pool
        # (psycopg_pool) that its request threads borrow and give back, each checked
        # before it is lent. Without it a request opens a connection of its own
        # (DB_CONN_MAX_AGE=0): under load the servers did 33 requests/s with the pool off
        # and 43 with it on, the cheapest call 235 and 617 (tests/bench/load.py). Kept
        # connections (DB_CONN_MAX_AGE > 0) stay with uvicorn's thread per request and
        # pile up; they exclude the pool. A request waits at most DB_POOL_TIMEOUT
        # seconds for a connection, then fails (500): during a database outage every
        # request waits that long, under overload those beyond the pool's size.
        pool_size = envint("DB_POOL_SIZE", 0)
        if pool_size > 0:
            if db["CONN_MAX_AGE"]:
                raise ImproperlyConfigured("DB_POOL_SIZE needs DB_CONN_MAX_AGE=0: pooled connections are "
                                           "given back after each request.")
            db["OPTIONS"]["pool"] = {"min_size": 1, "max_size": pool_size,
                                     "timeout": envint("DB_POOL_TIMEOUT", 3)}
    return {"default": db}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # Django's ModelBackend behind the login throttle, for every door that logs in.
    "cases.login_throttle.ThrottledModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# No anonymous user row: nobody who is not logged in holds any permission here.
ANONYMOUS_USER_NAME = None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Transport and cookies (`manage.py check --deploy` is clean with HTTPS=1). HTTPS=1: the
# site is reached over HTTPS only, directly or through a proxy that ends TLS; cookies
# then travel only over TLS, plain HTTP is redirected and browsers are told (HSTS) to
# never try plain HTTP again. Off by default: `make run` serves plain HTTP on loopback.
HTTPS = envbool("HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 365 * 24 * 3600) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preload asks browser vendors to hard-code the domain; a one-way step for whoever owns
# the domain, so it is their explicit choice, not a default.
SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", False)
# The open-cases index carries extra columns on PostgreSQL (cases.Case.Meta); SQLite
# ignores them, and warns so under `check --database`.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# drf-spectacular names the choice sets first and warns where a name repeats; the
# schema's own hook then names each set once, after its model (api.schema.name_enums,
# held by tests/api/test_schema_truth.py), so the warnings are about names never served.
SILENCED_SYSTEM_CHECKS.append("drf_spectacular.W001")
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
# BEHIND_PROXY=1: believe the proxy's X-Forwarded-Proto about the scheme and the last
# X-Forwarded-For entry about the client (login throttle). Only behind a proxy that sets
# both itself; a client could otherwise claim HTTPS over plain HTTP.
BEHIND_PROXY = envbool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Always (Django's defaults, stated so a change is deliberate): scripts cannot read the
# session cookie, cookies are not sent on cross-site subrequests, no framing of our pages
# (clickjacking of the operation buttons), no MIME sniffing, no full URLs — which carry
# case ids — in the Referer sent to other sites.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Township offices share computers, and the pages show petitioners' personal information
# (个人信息保护法 第五十一条: measures against unauthorised access): a session ends with
# the browser and after SESSION_IDLE_MINUTES without a request (every request renews it).
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = envint("SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Case documents. Never served from MEDIA_URL: the case page streams a file to those who
# may see its case (desk.case_page.document).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Ledgers written for the ledgers page's downloads (desk.ledgers.export_page), each named by a
# random token and kept a day; it must be one directory for every server process.
LEDGER_EXPORT_DIR = Path(os.environ.get("LEDGER_EXPORT_DIR", Path(tempfile.gettempdir()) / "tiaochu-ledgers"))


# Connections to Redis one server process may open at once (see _channel_layers).
REDIS_MAX_CONNECTIONS = envint("REDIS_MAX_CONNECTIONS", 1000)


def _channel_layers() -> dict:
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        # Reaches only this process: the embedded run serves and sweeps in one process.
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # socket_timeout=None: redis-py 8 otherwise times out the layer's blocking read.
                # max_connections: redis-py's pool allows 100 per process and raises
                # MaxConnectionsError past it, rather than wait; the alert consumer bounds
                # its own group joins and leaves below this (notifications.consumers).
                # Redis serves 10,000 clients.
                "hosts": [{"address": redis_url, "socket_timeout": None,
                           "max_connections": REDIS_MAX_CONNECTIONS}],
                # A sweep that finds a backlog (after downtime) sends a supervisor hundreds
                # of alerts at once; the default 100 per channel would drop most of them.
                # Dropped pushes are not lost (the backlog is read on reconnect), but live
                # ones should arrive while the board is open.
                "capacity": 1000,
                # Group membership lapses after this; the default 24 h would silently stop
                # pushes to a board left open over a weekend. The consumer joins anew on
                # every reconnect, so a week covers any tab a person keeps open.
                "group_expiry": 7 * 24 * 3600,
            },
        }
    }


CHANNEL_LAYERS = _channel_layers()

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.tokens.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: form-encoded bodies turn every value into a list, and apps send JSON.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    # UTF-8 said in the Content-Type; moments in one precision (api.renderers).
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    # Pages by cursor, 20 rows unless page_size asks for up to 100 (api.pagination).
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CursorPagination",
    # A query parameter or ordering a list does not read is a 400, not ignored (api.filters).
    "DEFAULT_FILTER_BACKENDS": [
        "api.filters.KnownParameters",
        "django_filters.rest_framework.DjangoFilterBackend",
        "api.filters.StrictOrdering",
    ],
    # Errors of no field under the key a Django form gives them (api.errors.flattened).
    "NON_FIELD_ERRORS_KEY": "__all__",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
# API tokens (django-rest-knox): one per device, stored as a hash, valid for API_TOKEN_DAYS
# after the login that issued it; a password change or deactivation revokes them all.
KNOX_TOKEN_MODEL = "cases.DeviceToken"
# knox's own migrations create its AuthToken table even when the model is swapped for
# ours, a table nothing uses whose foreign key to the users stops PostgreSQL from
# emptying them (flush). Without them nothing of knox's is in the database.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(days=envint("API_TOKEN_DAYS", 30)),
    # The header apps already send: "Authorization: Token <key>".
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "tiaochu API",
    "DESCRIPTION": "Disputes (矛盾纠纷) and petitions (信访) for grid apps and the platforms above.",
    "VERSION": "1",
    # 3.1: nullable is a type of its own, so a null where a reference stands is said too.
    "OAS_VERSION": "3.1.0",
    # The same schema whatever the caller's Accept-Language (api.schema).
    "DEFAULT_GENERATOR_CLASS": "api.schema.FixedLanguageGenerator",
    "SERVE_INCLUDE_SCHEMA": False,
    # Government intranets have no internet: the docs' assets are served from here.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the categories wherever a field offers them (a case's category, the
    # concern a household visit found).
    "ENUM_NAME_OVERRIDES": {"CategoryEnum": "cases.models.Category",
                            "ReviewDecisionEnum": "workflow.forms.ReviewDecisionForm.DECISIONS",
                            "ReturnStatusEnum": "api.report_serializers.RETURN_STATUSES"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.name_enums",
        "api.schema.document_errors",
    ],
}
# Failed logins (login page, token login, password change) allowed per username and per
# client address in LOGIN_FAILURE_WINDOW seconds before further attempts are refused
# until the window passes (cases.login_throttle).
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW = envint("LOGIN_FAILURE_WINDOW", 900)

# Seconds between deadline sweeps inside the embedded server (0: none, sweep elsewhere).
SWEEP_INTERVAL = envint("SWEEP_INTERVAL", 60)
# Yellow-card warnings that fall outside these hours on a working day wait for the next
# working morning; overdue, escalation and major-risk alerts go at once.
OFFICE_HOURS = os.environ.get("OFFICE_HOURS", "08:30-17:30")
if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", OFFICE_HOURS):
    raise ImproperlyConfigured(f"OFFICE_HOURS must look like 08:30-17:30, not {OFFICE_HOURS!r}")

# Deadline profile used when a unit names none (see workflow.models.RuleProfile).
DEFAULT_RULE_PROFILE = os.environ.get("DEFAULT_RULE_PROFILE", "national")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
