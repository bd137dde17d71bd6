"""Settings, read from the environment (see .env.example); bad values stop the process at start."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

# Lets admin.ModelAdmin[Model] and friends be subscripted at run time, as the type stubs allow.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env file beside manage.py fills in variables the environment does not set. ENV_FILE names another
# file; ENV_FILE= (empty) reads none, so a test or a container sees exactly the environment it was given.
_env_file = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    environ.Env.read_env(_env_file, overwrite=False)

_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def _text(name: str, default: str = "") -> str:
    """A variable's value; set but empty counts as unset, so `KEY=` in a .env file never means ""."""
    return os.environ.get(name, "").strip() or default


def _strict_bool(name: str, *, default: bool) -> bool:
    # django-environ reads any unknown word (DEBUG=flase, DEBUG=maybe) as False: refuse it instead.
    raw = _text(name)
    if not raw:
        return default
    if raw.lower() in _TRUE_WORDS:
        return True
    if raw.lower() in _FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false (also 1/0, yes/no, on/off)")


def _list(name: str, *, default: list[str]) -> list[str]:
    """Comma-separated; spaces around items and empty items (a trailing comma) are dropped."""
    raw = _text(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _whole_number(name: str, *, default: int) -> int:
    raw = _text(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number of seconds (0 or more)")
    return value


def _required_in_production(name: str, *, dev_default: str, how: str) -> str:
    value = _text(name)
    if DEBUG:
        return value or dev_default
    if not value:
        raise ImproperlyConfigured(f"{name} is required when DEBUG is off; {how}")
    if value == dev_default:
        raise ImproperlyConfigured(f"{name} is the public development value, which is refused when DEBUG is off; {how}")
    return value


DEBUG: bool = _strict_bool("DEBUG", default=False)

_RANDOM_KEY_HINT = 'make one with `python -c "import secrets; print(secrets.token_urlsafe(50))"`'
SECRET_KEY: str = _required_in_production(
    "SECRET_KEY", dev_default="dev-only-insecure-secret-key-change-me", how=_RANDOM_KEY_HINT
)
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(f"SECRET_KEY must be at least 50 characters long when DEBUG is off; {_RANDOM_KEY_HINT}")

ALLOWED_HOSTS: list[str] = _list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    # Django would answer every request with 400 Bad Request: say why at start instead.
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off, e.g. ALLOWED_HOSTS=aid.example.com")
CSRF_TRUSTED_ORIGINS: list[str] = _list("CSRF_TRUSTED_ORIGINS", default=[])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entry {_origin!r} needs its scheme, e.g. https://aid.example.com"
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    # Security (issue 8): login lockout, second factor for admins, Content-Security-Policy header.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "members",
    "claims",
    "settlement",
    "jury",
    "portal",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "mutualaid.security.middleware.AdminSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Refuses a body over its limit from its Content-Length, before the CSRF check reads the form.
    "mutualaid.uploads.RequestSizeLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a login refused for a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mutualaid.urls"
WSGI_APPLICATION = "mutualaid.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Unset DATABASE_URL: an embedded SQLite file, so `make run` works on a bare machine.
_DATABASE_SCHEMES = frozenset({"postgres", "postgresql", "pgsql", "psql", "sqlite"})
DATABASE_URL: str = _text("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
if urlsplit(DATABASE_URL).scheme not in _DATABASE_SCHEMES:
    # django-environ would pass an unknown scheme through as a nonsense ENGINE and fail much later.
    raise ImproperlyConfigured(
        "DATABASE_URL must be postgres://user:password@host:5432/name or sqlite:///path/to/file.sqlite3, "
        f"not {urlsplit(DATABASE_URL).scheme or 'a value without a scheme'!r}"
    )
DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if not DATABASES["default"]["NAME"]:
        raise ImproperlyConfigured("DATABASE_URL names no database: add it after the last slash")
    # A database that does not answer should fail a request (and /healthz) in seconds, not hang it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", _whole_number("CONN_MAX_AGE", default=0))
# Checking a reused connection (SELECT 1 at the start of every request that uses the database) spares the
# first request of each worker after PostgreSQL restarts, at the price of a second statement and round trip
# on every request: on the member read that is 15-20% of the throughput, and twice the statements the one
# database must answer. Off by default: after a restart each worker's first request is answered 503 (the
# API's `unavailable`, with Retry-After) and the worker reconnects for the next one. CONN_HEALTH_CHECKS=true
# turns the check on (README, "Database connections").
DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] != 0 and _strict_bool(
    "CONN_HEALTH_CHECKS", default=False
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "members.User"
# The lockout check (django-axes) refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = ["mutualaid.security.backends.LockoutBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "members:login"
LOGIN_REDIRECT_URL = "members:household"
LOGOUT_REDIRECT_URL = "members:login"

# Beijing time and Simplified Chinese first, English on every page.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(_text("MEDIA_ROOT", str(BASE_DIR / "media")))
# Uploads (mutualaid/uploads.py): each file is cut at 10 MB + 1 byte while it streams in, before the
# usual handlers keep it in memory (small files) or a temporary file; bodies other than uploads are
# limited to Django's default 2.5 MB, the API's JSON included.
FILE_UPLOAD_HANDLERS = [
    "mutualaid.uploads.DocumentSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Resident ID numbers: encrypted with the first of ID_ENCRYPTION_KEYS (Fernet keys; the others
# still decrypt, so a key can be rotated) and looked up by an HMAC keyed with ID_HASH_KEY.
_DEV_FERNET_KEY = "ZGV2LW9ubHktaWQta2V5LW5vdC1mb3ItcHJvZHVjdGk="
_MAKE_FERNET = (
    'make one with `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
)
_id_keys = _required_in_production("ID_ENCRYPTION_KEYS", dev_default=_DEV_FERNET_KEY, how=_MAKE_FERNET)
ID_ENCRYPTION_KEYS: list[str] = [key.strip() for key in _id_keys.split(",") if key.strip()]
for _position, _key in enumerate(ID_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"ID_ENCRYPTION_KEYS: key {_position} is not a Fernet key (32 url-safe base64-encoded bytes); "
            + _MAKE_FERNET
        ) from exc
    if not DEBUG and _key == _DEV_FERNET_KEY:
        raise ImproperlyConfigured(f"ID_ENCRYPTION_KEYS holds the public development key; {_MAKE_FERNET}")
ID_HASH_KEY: str = _required_in_production("ID_HASH_KEY", dev_default="dev-only-id-hash-key", how=_RANDOM_KEY_HINT)
if len(ID_HASH_KEY) < 16:
    raise ImproperlyConfigured(f"ID_HASH_KEY must be at least 16 characters long; {_RANDOM_KEY_HINT}")

# Celery: Redis is the broker; with no REDIS_URL tasks run in-process (demo mode only).
REDIS_URL: str = _text("REDIS_URL")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in {"redis", "rediss"}:
    # Only the scheme is echoed: the rest of the URL may hold a password.
    raise ImproperlyConfigured(
        f"REDIS_URL must look like redis://host:6379/0 (rediss:// for TLS), not {urlsplit(REDIS_URL).scheme!r}://…"
    )
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# A task a killed worker never acknowledged comes back after this many seconds; above the 30-minute task
# limit, so a long but healthy task is never delivered twice while it runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 45 * 60}

# The cache holds what every worker process must agree on, the API's throttle counts and the partners'
# verified keys: Redis when there is one (gunicorn's workers then count one partner's requests together
# and drop a revoked key together), else this process's memory. mutualaid.cache is Django's Redis backend
# keeping one client per connection pool.
CACHES: dict[str, dict[str, object]] = {
    "default": (
        {"BACKEND": "mutualaid.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "mutualaid"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Member ids per settlement chunk: one INSERT … SELECT each, about a second of PostgreSQL's work.
SETTLEMENT_CHUNK_SIZE = _whole_number("SETTLEMENT_CHUNK_SIZE", default=50_000)
if SETTLEMENT_CHUNK_SIZE < 1:
    raise ImproperlyConfigured("SETTLEMENT_CHUNK_SIZE must be a whole number of at least 1")

# E-mail to members (notifications). EMAIL_URL: smtp+tls://user:password@host:587, smtps://…:465 or
# consolemail://; unset, messages are written to the console (the log), as in development.
_EMAIL_SCHEMES = frozenset({"smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "dummymail"})
EMAIL_URL: str = _text("EMAIL_URL")
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
if EMAIL_URL:
    if urlsplit(EMAIL_URL).scheme not in _EMAIL_SCHEMES:
        # Only the scheme is echoed: the rest of the URL may hold a password.
        raise ImproperlyConfigured(
            "EMAIL_URL must look like smtp+tls://user:password@host:587 or smtps://…, "
            f"not {urlsplit(EMAIL_URL).scheme!r}://…"
        )
    globals().update(environ.Env.email_url_config(EMAIL_URL))
DEFAULT_FROM_EMAIL: str = _text("DEFAULT_FROM_EMAIL", "互助计划 Mutual aid <noreply@localhost>")
EMAIL_TIMEOUT = 10

# Partner webhooks may be sent to private and loopback addresses (and over http:// to this machine)
# only when this is on: development and tests. In production a partner's URL is public https.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: bool = _strict_bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=DEBUG)

# Requests per partner: a number, "/" and second, minute, hour or day (DRF reads the unit's first letter).
API_THROTTLE_RATE: str = _text("API_THROTTLE_RATE", "1200/minute")
if not re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", API_THROTTLE_RATE):
    raise ImproperlyConfigured(
        f"API_THROTTLE_RATE={API_THROTTLE_RATE!r} is not a rate: write requests/unit, e.g. 1200/minute "
        "(units: second, minute, hour, day)"
    )

# The partner API (API.md): partners authenticate with an API key, see only their own members, and
# every error has one shape (mutualaid/api/).
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["mutualaid.api.auth.PartnerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["mutualaid.api.auth.IsPartner"],
    "DEFAULT_THROTTLE_CLASSES": ["mutualaid.api.auth.PartnerRateThrottle"],
    # Per partner, counted in the default cache (CACHES: Redis when REDIS_URL is set, shared by the workers).
    "DEFAULT_THROTTLE_RATES": {"partner": API_THROTTLE_RATE},
    "DEFAULT_PAGINATION_CLASS": "mutualaid.api.pagination.PagePagination",
    "EXCEPTION_HANDLER": "mutualaid.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "mutualaid.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mutual aid plan — partner API",
    "DESCRIPTION": (
        "Enrol members, file claims and read results. Authenticate with `Authorization: Api-Key <key>`. "
        'Every 4xx answer is `{"error": {"code", "message", "fields"?}}`. POST requests accept an '
        "`Idempotency-Key` header: the same key with the same body replays the first response."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Served from the installed package: the docs page needs no outside network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MembershipStatusEnum": "members.models.MembershipStatus",
        "ClaimStatusEnum": "claims.models.ClaimStatus",
        # Claims and webhook events both have a field `kind`: named here, `check --deploy` warns of no collision.
        "ClaimKindEnum": "claims.models.ClaimKind",
    },
}

LOG_LEVEL: str = _text("LOG_LEVEL", "INFO")
if LOG_LEVEL.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL {LOG_LEVEL!r} is not a logging level")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL.upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Production sits behind a proxy that ends TLS and names the scheme in a header (X-Forwarded-Proto);
# "none" when clients reach the app directly. Trusting the header without such a proxy would let any
# client claim HTTPS, so it is read only when configured.
_proxy_ssl_header = _text("SECURE_PROXY_SSL_HEADER", "none" if DEBUG else "X-Forwarded-Proto")
if _proxy_ssl_header.lower() == "none":
    SECURE_PROXY_SSL_HEADER: tuple[str, str] | None = None
elif re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", _proxy_ssl_header):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
else:
    raise ImproperlyConfigured(
        f"SECURE_PROXY_SSL_HEADER={_proxy_ssl_header!r} is not a header name: e.g. X-Forwarded-Proto, or none"
    )
if not DEBUG:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _strict_bool("SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = _strict_bool("SECURE_SSL_REDIRECT", default=True)
    # Probes (container healthcheck, load balancer) call /healthz over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # A year, subdomains included, and consent to browsers' preload lists: `check --deploy` is clean with
    # the defaults. Browsers honour the header only over HTTPS, so plain-http trials are unaffected.
    SECURE_HSTS_SECONDS = _whole_number("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _strict_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = _strict_bool("SECURE_HSTS_PRELOAD", default=True)

# Content-Security-Policy (django-csp): scripts only from this site, never inline, so injected markup
# cannot run. Styles may be inline: the member pages ship their CSS in the page (one round trip on a
# slow phone) and Django's admin writes a few <style> blocks of its own. The API docs page loads its
# script from this site too (the split Swagger view) and draws its icons from data: URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Failed logins (django-axes), member and admin alike: after LOGIN_FAILURE_LIMIT failures for one
# username from one address, that pair is refused for LOGIN_COOLOFF_MINUTES. Keyed on the pair, so
# an attacker behind one address locks out only the accounts they guess, never everyone behind it.
AXES_FAILURE_LIMIT = _whole_number("LOGIN_FAILURE_LIMIT", default=5)
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT must be a whole number of at least 1")
LOGIN_COOLOFF_MINUTES = _whole_number("LOGIN_COOLOFF_MINUTES", default=15)
if LOGIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_COOLOFF_MINUTES must be a whole number of at least 1")
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "mutualaid.security.views.lockout"
# Behind proxies the client is the address the nearest trusted proxy appended to X-Forwarded-For.
TRUSTED_PROXY_COUNT = _whole_number("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "mutualaid.security.network.client_ip"

# A second factor (TOTP, django-otp) for staff in admin: required for every staff account when
# ADMIN_REQUIRE_2FA is on (the production default), and for the accounts flagged one by one.
ADMIN_REQUIRE_2FA = _strict_bool("ADMIN_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = "Mutual aid plan"
# A device's secret is shown once, to its owner, at enrolment: admin's device pages never show it (its
# key field, its QR code and config pages), or staff allowed to view devices could copy another's factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
