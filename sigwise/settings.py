"""Settings for Sigwise, read from the environment (see README "Configuration").

Defaults are safe for development; production (``DJANGO_DEBUG=false``) refuses to
start without a real secret key.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

from sigwise.embedded_db import embedded_database
from sigwise.env import (
    development_secret_key,
    env_bool,
    env_choice,
    env_directory,
    env_email,
    env_int,
    env_list,
    env_rate,
    env_str,
    env_timezone,
    secret_problem,
)


def _delivery_schedule(raw: str) -> list[float]:
    try:
        delays = [float(item) for item in raw.split(",") if item.strip()]
    except ValueError:
        delays = []
    if not delays or any(delay < 0 or delay != delay for delay in delays):
        raise ImproperlyConfigured(
            f"DELIVERY_RETRY_SCHEDULE must be comma-separated seconds such as 0,5,30, not {raw!r}"
        )
    return delays


BASE_DIR = Path(__file__).resolve().parent.parent

# Where the embedded PostgreSQL (when DATABASE_URL is unset) and the development key live.
DATA_DIR = Path(env_str("SIGWISE_DATA_DIR") or str(BASE_DIR / ".data"))

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY and DEBUG:
    # No key written in the source signs anything: a debug instance makes its own, once.
    SECRET_KEY = development_secret_key(DATA_DIR / "secret_key")
if not DEBUG and (_problem := secret_problem(SECRET_KEY)):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters when DJANGO_DEBUG is off "
        f"({_problem})"
    )
JWT_SIGNING_KEY = env_str("JWT_SIGNING_KEY", SECRET_KEY)
if not DEBUG and (_problem := secret_problem(JWT_SIGNING_KEY)):
    raise ImproperlyConfigured(
        "JWT_SIGNING_KEY must be set to a random value of at least 50 characters, or left unset to use "
        f"DJANGO_SECRET_KEY, when DJANGO_DEBUG is off ({_problem})"
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_apscheduler",
    "axes",
    "django_htmx",
    "core",
    "accounts",
    "triggers",
    "eventlogs",
    "deliveries",
    "monitoring",
]

MIDDLEWARE = [
    # First: its time covers every middleware.
    "sigwise.middleware.HttpMetricsMiddleware",
    "sigwise.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sigwise.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sigwise.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # After authentication: it counts per signed-in user, as the API's user throttle does.
    "sigwise.middleware.PageThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: a live region's poll (core/live.py).
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees the outcome of every login attempt (django-axes requirement).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sigwise.urls"
WSGI_APPLICATION = "sigwise.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
# PostgreSQL only. DATABASE_URL selects a server; without it an embedded PostgreSQL
# (the pgserver package) is started with its data in .data/.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    try:
        _database = dj_database_url.parse(DATABASE_URL)
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {error}") from None
    if _database.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres:// or postgresql://)")
else:
    _database = embedded_database(DATA_DIR)
# Persistent connections with a health check: a connection killed by the server or a
# restart is noticed and replaced at the start of the next request.
_database["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
_database["CONN_HEALTH_CHECKS"] = True
# Parameters bound by the server, and prepared statements: psycopg prepares a statement
# on a connection once it has run 5 times, and PostgreSQL then parses it no more, nor
# plans it again where its generic plan is no costlier than the plans for the values
# seen. On the API fire path PostgreSQL's CPU per fire fell from 0.53 to 0.36 ms and the
# rate rose 7-17 % (docs/benchmarks.md). Turn off behind a transaction-mode connection
# pooler that does not track prepared statements (PgBouncer before 1.21, or with
# max_prepared_statements = 0).
if env_bool("DATABASE_PREPARED_STATEMENTS", True):
    _database.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
DATABASES = {"default": _database}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by every worker (throttling). Redis when REDIS_URL is set. -----
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Django's database cache with an atomic incr (sigwise/cache.py): the throttles count with it.
    CACHES = {"default": {"BACKEND": "sigwise.cache.DatabaseCache", "LOCATION": "sigwise_cache"}}

# --- Accounts and authentication ----------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out account is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email",)},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/auth/login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/auth/login"

# The zone a new user gets, used to show times and to read date-times typed without an offset.
DEFAULT_USER_TIMEZONE = env_timezone("SIGWISE_DEFAULT_TIMEZONE", "Asia/Kolkata")

# Brute-force protection (django-axes, attempts kept in the database, shared by all workers).
# Failures are counted per cool-off for one account from one address (LOGIN_FAILURE_LIMIT),
# one address across accounts and one account across addresses (accounts/security.py).
AXES_HANDLER = "accounts.security.SigninLockHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 4 * AXES_FAILURE_LIMIT, minimum=1)
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 10 * AXES_FAILURE_LIMIT, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_COOLOFF_SECONDS", 15 * 60, minimum=1))
# Records, and the reset after a good sign-in, are per (account, address): signing in to
# one account clears nothing of another's failures.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A refused attempt during a lock is not recorded, so it neither extends the lock nor
# grows the stored records.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "accounts.security.login_attempt_email"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.security.client_address"
AXES_VERBOSE = False

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_LIFETIME_SECONDS", 15 * 60, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_REFRESH_LIFETIME_SECONDS", 7 * 24 * 3600, minimum=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # API keys (Bearer sw_…) first: simplejwt's class answers 401 to any bearer that is not a JWT.
        "accounts.authentication.ApiKeyAuthentication",
        # simplejwt's, also refusing tokens revoked by a password change or "sign out everywhere".
        "accounts.authentication.RevocableJWTAuthentication",
        # Browser calls ride the session; DRF enforces the CSRF token for unsafe methods.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON parser, also refusing (400) what PostgreSQL's jsonb cannot store.
    "DEFAULT_PARSER_CLASSES": ["sigwise.api.StoredJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's anon and user rates, counted per fixed window (O(1) per request; see sigwise/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "sigwise.throttling.AnonFixedWindowThrottle",
        "sigwise.throttling.UserFixedWindowThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "60/minute"),
        "user": env_rate("API_THROTTLE_USER", "100000/hour"),
    },
    "EXCEPTION_HANDLER": "sigwise.api.exception_handler",
    # Reverse proxies in front of gunicorn (each appends to X-Forwarded-For). 0 trusts no
    # header and uses the connection's address; behind one TLS proxy set TRUSTED_PROXY_COUNT=1.
    # (DRF's None would trust a client-sent X-Forwarded-For, letting anyone dodge the limits.)
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0, minimum=0),
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Sigwise API",
    "DESCRIPTION": (
        "Sigwise fires your triggers on a schedule (once, every N seconds, or on a cron expression) "
        "or when you call them, and logs every firing as an event you can read here, on the dashboard, "
        "or delivered to your webhook.\n\n"
        "Authenticate with `Authorization: Bearer <API key or access token>` (keys are made under "
        "Settings → API keys), or sign in to the app and use its session. Times without an offset are "
        "read in your time zone. [Back to the app](/)"
    ),
    "VERSION": "1.0.0",
    "EXTERNAL_DOCS": {"description": "Sigwise: your dashboard and triggers", "url": "/"},
    "TAGS": [
        {"name": "auth", "description": "Sign up, sign in for a token pair, refresh it, sign out."},
        {"name": "account", "description": "Your password, your sessions and your account."},
        {"name": "api-keys", "description": "Keys for scripts: fire-only or full access."},
        {"name": "triggers", "description": "Create, change, fire and test triggers; preview a schedule."},
        {"name": "event logs", "description": "What your triggers fired, newest first."},
        {"name": "signing secret", "description": "The secret that signs your webhook deliveries."},
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A trigger and a delivery each have a "state"; name their enums after their owners.
    "ENUM_NAME_OVERRIDES": {
        "TriggerStateEnum": "triggers.models.Trigger.State",
        "DeliveryStateEnum": "deliveries.models.Delivery.State",
    },
}

# Request bodies above this size are refused with 413 before they are read.
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 64 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES

# --- Triggers and event logs ------------------------------------------------------------
TRIGGER_MIN_INTERVAL_SECONDS = env_int("TRIGGER_MIN_INTERVAL_SECONDS", 60, minimum=1)
# Per-user limits (docs/configuration.md): triggers one user may own, and the size of a
# scheduled trigger's stored payload, which is copied into every event it logs.
TRIGGER_MAX_PER_USER = env_int("TRIGGER_MAX_PER_USER", 1000, minimum=1)
TRIGGER_PAYLOAD_MAX_BYTES = env_int("TRIGGER_PAYLOAD_MAX_BYTES", 16 * 1024, minimum=2)
EVENT_LOG_ARCHIVE_AFTER = timedelta(seconds=env_int("EVENT_LOG_ARCHIVE_AFTER_SECONDS", 2 * 3600, minimum=1))
EVENT_LOG_DELETE_AFTER = timedelta(seconds=env_int("EVENT_LOG_DELETE_AFTER_SECONDS", 48 * 3600, minimum=1))
if EVENT_LOG_DELETE_AFTER <= EVENT_LOG_ARCHIVE_AFTER:
    raise ImproperlyConfigured("EVENT_LOG_DELETE_AFTER_SECONDS must be longer than EVENT_LOG_ARCHIVE_AFTER_SECONDS")

# --- Email (password reset) -------------------------------------------------------------
# EMAIL_URL, such as smtp://user:password@host:587?tls=true (sigwise/env.py reads it);
# without it mail is written to the console, the web process's log (tests use Django's
# locmem outbox).
EMAIL_URL = env_str("EMAIL_URL")
_email = env_email("EMAIL_URL")
EMAIL_BACKEND = _email.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Sigwise <sigwise@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# A reset link works for an hour, once (its token covers the password hash and last login).
PASSWORD_RESET_TIMEOUT = 3600
# Reset requests per hour: for one address (anyone may ask for it) and from one client.
PASSWORD_RESET_ACCOUNT_LIMIT = env_int("PASSWORD_RESET_ACCOUNT_LIMIT", 3, minimum=1)
PASSWORD_RESET_CLIENT_LIMIT = env_int("PASSWORD_RESET_CLIENT_LIMIT", 10, minimum=1)

# --- Internationalisation and time ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by WhiteNoise from gunicorn) ------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Before `collectstatic` has run (development, tests) serve straight from the apps.
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_ROOT.exists()
# Files served at the site's root, such as /favicon.ico, which browsers ask for on every
# page that names no icon (the admin, Swagger UI) and tools ask for regardless.
WHITENOISE_ROOT = BASE_DIR / "public"

# --- Security ---------------------------------------------------------------------------
# Secure by default when DEBUG is off; each can be turned off for a plain-HTTP setup
# (for example behind a proxy that terminates TLS on the same host).
_secure = not DEBUG
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _secure)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _secure)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _secure)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^ping/?$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _secure else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _secure)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _secure)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp) on every response: scripts and styles only from our
# own static files, so an injected <script> or inline handler does not run. The pages keep
# no inline script; Swagger UI (/docs) loads its start-up script as a file too and is
# allowed the one inline <style> its template has (sigwise/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Scheduler ------------------------------------------------------------------------
APSCHEDULER_DATETIME_FORMAT = "N j, Y, f:s a"
APSCHEDULER_RUN_NOW_TIMEOUT = 25
# Scheduler (manage.py runscheduler): triggers claimed per dispatch transaction; the
# longest the dispatcher sleeps without a NOTIFY (a safety-net poll); how often the
# `dispatch` job sweeps for due triggers; how much job-execution history to keep.
SCHEDULER_DISPATCH_BATCH_SIZE = env_int("SCHEDULER_DISPATCH_BATCH_SIZE", 500, minimum=1)
SCHEDULER_MAX_SLEEP_SECONDS = env_int("SCHEDULER_MAX_SLEEP_SECONDS", 1, minimum=1)
SCHEDULER_SWEEP_SECONDS = env_int("SCHEDULER_SWEEP_SECONDS", 10, minimum=1)
SCHEDULER_JOB_HISTORY_SECONDS = env_int("SCHEDULER_JOB_HISTORY_SECONDS", 3600, minimum=60)
# Event-log lifecycle: rows archived or deleted per transaction (archive_event_logs, delete_event_logs).
LIFECYCLE_BATCH_SIZE = env_int("LIFECYCLE_BATCH_SIZE", 1_000, minimum=1)

# --- Delivery and email ------------------------------------------------------------------
# docs/delivery.md. The delay in seconds before each attempt of a delivery (the first is
# usually 0); each is varied by ±20 %, and a delivery fails after the last one.
DELIVERY_RETRY_SCHEDULE = _delivery_schedule(env_str("DELIVERY_RETRY_SCHEDULE", "0,5,30,120,600,1800,7200,21600"))
# Lifts the refusal of loopback, private and link-local targets: for development and tests
# only (a system check warns when it is on with DEBUG off).
DELIVERY_ALLOW_PRIVATE_TARGETS = env_bool("DELIVERY_ALLOW_PRIVATE_TARGETS", False)
# Per rundeliveries process: requests in flight, in flight to one host, claimed per owner per
# claim (fairness), and how long past its timeout an attempt's lease lasts.
DELIVERY_CONCURRENCY = env_int("DELIVERY_CONCURRENCY", 100, minimum=1)
DELIVERY_MAX_PER_HOST = env_int("DELIVERY_MAX_PER_HOST", 10, minimum=1)
DELIVERY_CLAIM_PER_OWNER = env_int("DELIVERY_CLAIM_PER_OWNER", 100, minimum=1)
DELIVERY_LEASE_MARGIN_SECONDS = env_int("DELIVERY_LEASE_MARGIN_SECONDS", 30, minimum=1)
# Worker processes one rundeliveries starts (each with the limits above): one process is
# bound by its CPU, so a busy installation runs one per core it can spare.
DELIVERY_PROCESSES = env_int("DELIVERY_PROCESSES", 1, minimum=1)
# The site's address in emails (links to the trigger's page).
SITE_URL = env_str("SIGWISE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Operations: metrics, version, logs -------------------------------------------------
# docs/operations.md. /metrics answers only with this bearer token, and is a 404 without it.
METRICS_TOKEN = env_str("METRICS_TOKEN").strip()
if METRICS_TOKEN and not DEBUG and (_problem := secret_problem(METRICS_TOKEN)):
    raise ImproperlyConfigured(
        f"METRICS_TOKEN must be a random value of at least 50 characters when DJANGO_DEBUG is off ({_problem})"
    )
# Where every process writes its metrics (prometheus-client's multi-process mode), read
# by prometheus-client itself at import; checked here so a typo stops start-up.
PROMETHEUS_MULTIPROC_DIR = env_directory("PROMETHEUS_MULTIPROC_DIR")


def _project_version() -> str:
    try:
        return tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


# Shown beside each process's heartbeat (the admin): a release or commit set at build time.
SIGWISE_VERSION = env_str("SIGWISE_VERSION").strip() or _project_version()

# plain: one readable line a record (development). json: one JSON object a line, with the
# request id and user id of a web request, and the trigger id and lateness of a firing.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "core.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
            # An ISO 8601 time in UTC under "time".
            "timestamp": "time",
            # django.request's records carry the request object; its id and user are enough.
            "reserved_attrs": [*RESERVED_ATTRS, "request"],
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_context"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "apscheduler": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # The embedded PostgreSQL's chatter; its INFO lines at interpreter exit also hit
        # a stream pytest has already closed ("--- Logging error ---").
        "pgserver": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
