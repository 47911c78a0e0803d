"""Settings of the viewer-relations CRM: one file, driven by environment variables.

Every variable is listed in `.env.example`. A malformed value stops the process at start-up
with a message naming the variable, rather than running half-configured. With nothing set,
the project runs on the embedded defaults: a SQLite file under `var/` and Celery tasks run
in-process (eager). With DATABASE_URL and CELERY_BROKER_URL it runs on PostgreSQL and Redis
with real workers. Environments differ by data, not code.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


# --- reading the environment -------------------------------------------------------------------


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# --- core --------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)
# The fallback key is for a developer's machine only: its "django-insecure-" prefix makes
# `manage.py check --deploy` fail, so it cannot reach production unnoticed.
SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-local-development-key-change-me"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Public base URL used in links sent by email (survey, requests for comment, web form).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

INSTALLED_APPS = [
    "frt_crm.apps.CrmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    # Sign-in: lock-out after repeated failures, and the second factor (TOTP, recovery codes).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "contacts",
    "routing",
    "mediation",
    "satisfaction",
    "replies",
    "reporting",
    "outbox",
    "privacy",
    "demo",
]

MIDDLEWARE = [
    # First: with the database down, answer 503 before anything touches it.
    "frt_crm.middleware.DatabaseOutageMiddleware",
    # Without a broker, tasks asked for by a request run after its response is sent.
    "frt_crm.middleware.TasksAfterResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "frt_crm.middleware.FrenchFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff sessions end after SESSION_IDLE_MINUTES without a request, and at the end of a
    # shift (SESSION_COOKIE_AGE after sign-in), whatever the activity.
    "accounts.middleware.SessionExpiryMiddleware",
    # Managers, administrators and mediators reach nothing before their second factor.
    "accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "frt_crm.urls"
WSGI_APPLICATION = "frt_crm.wsgi.application"
ASGI_APPLICATION = "frt_crm.asgi.application"

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
                "accounts.context_processors.navigation",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- database ----------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
try:
    _db = dj_database_url.parse(DATABASE_URL)
except (ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from None
if not _db.get("ENGINE"):
    raise ImproperlyConfigured(f"DATABASE_URL has an unknown scheme: {DATABASE_URL!r}")

if _db["ENGINE"] == "django.db.backends.sqlite3":
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers work while the single writer writes; IMMEDIATE takes the write lock at
    # the start of a transaction, so two writers queue instead of failing with "locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # A database that is down must be noticed within seconds, not after the operating
    # system's TCP timeout (a host that does not answer): libpq's minimum is 2 s.
    _db["OPTIONS"] = {
        **_db.get("OPTIONS", {}),
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 2, minimum=2),
    }
    # PostgreSQL's JIT compiles a query whose estimated cost is high, which a misestimated
    # count of a few rows can reach: 0.3-0.5 s of compiling for a query of milliseconds. Off by
    # default (libpq startup options, on every connection, pooled or not); DATABASE_JIT=1 keeps
    # the server's setting. PgBouncer refuses startup options: behind it, set DATABASE_JIT=1
    # and `ALTER DATABASE … SET jit = off` instead.
    if not env_bool("DATABASE_JIT", False):
        given = _db["OPTIONS"].get("options", "")
        _db["OPTIONS"]["options"] = f"{given} -c jit=off".strip()
    # psycopg 3's pool keeps connections warm across requests; Django requires
    # CONN_MAX_AGE = 0 with it. DATABASE_POOL=0 turns it off (e.g. behind PgBouncer).
    if env_bool("DATABASE_POOL", True):
        _db["CONN_MAX_AGE"] = 0
        _db["OPTIONS"] = {
            **_db["OPTIONS"],
            "pool": {
                "min_size": env_int("DATABASE_POOL_MIN", 1),
                "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
                # How long a request waits for a free connection. While the database is
                # down, requests do not wait here: frt_crm.middleware answers 503 at once
                # and drops the pool when the database is back (its own reconnection backs
                # off for tens of seconds).
                "timeout": env_int("DATABASE_POOL_TIMEOUT", 5, minimum=1),
                # A connection idle this long is closed (the server or a firewall may have
                # dropped it meanwhile).
                "max_idle": 300,
            },
        }
    else:
        _db["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache -------------------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # The database cache is shared by every process (rate limits must hold across workers);
    # a local-memory cache would not be.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "frt_cache",
        }
    }

# --- authentication ----------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, as django-axes requires: refuses a sign-in while the account or address is locked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# A staff session ends at the end of a shift (absolute: counted from sign-in, whatever the
# activity) and after SESSION_IDLE_MINUTES without a request (accounts.middleware).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 10 * 60 * 60, minimum=60)  # one working day
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30, minimum=1)
# Password-reset links (sent by an administrator) stay valid this long.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 24 * 60 * 60, minimum=600)

# Lock-out (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for one username, or from
# one address, further attempts are refused for AXES_COOLOFF_MINUTES, or until an
# administrator unlocks the account (admin action "Unlock sign-in"). Counting per address
# stops one machine spraying many accounts; per username, many machines guessing one.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Not axes' reset on success: it would also clear the address's counter, so one valid account
# would let a machine keep guessing others. A sign-in forgives only that username's own
# failures (accounts.services.user_signin_failures_forgive).
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Its own admin pages would bypass the product's policy and audit; unlocking is an action of
# the staff users' admin page.
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# Second factor (django-otp). Roles that must use it: accounts.permissions.SECOND_FACTOR_ROLES.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "FRT CRM")

# --- security ----------------------------------------------------------------------------------

SECURE_SSL = env_bool("SECURE_SSL", False)
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = SECURE_SSL
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# The address sign-in failures are counted against: the peer's, or behind the load balancer
# the last hop it appends to X-Forwarded-For (a client cannot forge that one).
AXES_CLIENT_IP_CALLABLE = "accounts.services.client_ip"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp) on every response: scripts and styles come from our own
# static files or carry the request's nonce ({{ CSP_NONCE }}), nothing from another origin, no
# inline handler or style attribute, no framing. The few responses that need another policy
# set it in their view (a viewer's email, the letter preview and a letter's scan, each a document
# in a frame; the files of contacts; ReDoc in frt_crm/urls.py): README § Security model.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- internationalisation ----------------------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- static and media files --------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it, even before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": env_str("FILE_STORAGE", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from the installed apps and packages (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
# Uploads: inbound mail, scans and attachments are capped; the intake refuses larger ones
# with a clear message.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Intake limits (contacts.services): a larger mail is quarantined (or refused with 413 by the
# gateway); attachments above their limit are listed on the contact but not kept; more than
# INTAKE_FLOOD_PER_HOUR mails from one address within an hour are held in quarantine.
INTAKE_MAX_EMAIL_BYTES = env_int("INTAKE_MAX_EMAIL_BYTES", MAX_UPLOAD_BYTES, minimum=1024)
INTAKE_MAX_ATTACHMENT_BYTES = env_int("INTAKE_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, minimum=1)
INTAKE_FLOOD_PER_HOUR = env_int("INTAKE_FLOOD_PER_HOUR", 30)
INTAKE_API_MAX_BYTES = env_int("INTAKE_API_MAX_BYTES", 1024 * 1024, minimum=1024)
INTAKE_API_RATE = env_str("INTAKE_API_RATE", "3000/minute")
# The public web form: submissions per IP address and window (seconds), largest body accepted.
WEBFORM_RATE_LIMIT = env_int("WEBFORM_RATE_LIMIT", 5)
WEBFORM_RATE_WINDOW = env_int("WEBFORM_RATE_WINDOW", 600, minimum=1)
WEBFORM_MAX_BYTES = env_int("WEBFORM_MAX_BYTES", 64 * 1024, minimum=1024)

# --- email -------------------------------------------------------------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "relations.telespectateurs@example.fr")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The demonstration (`make run`): a local SMTP catcher keeps what the product sends as .eml
# files in DEMO_MAIL_DIR, listed for managers on /demo/mail/ while this is on.
DEMO_MAIL_CATCHER = env_bool("DEMO_MAIL_CATCHER", False)
DEMO_MAIL_DIR = VAR_DIR / "mail"
# The domain of the Message-IDs the CRM generates; replies are threaded back through them.
EMAIL_MESSAGE_ID_DOMAIN = env_str("EMAIL_MESSAGE_ID_DOMAIN", "crm.example.fr")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive")

# --- Celery ------------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# Without a broker, tasks run in-process right after the transaction commits (the embedded
# default); with one, real workers take them.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
# Redis here keeps nothing on disk: the database, not the broker, is the record of what is
# left to do (periodic sweeps find it again). A task whose worker died comes back after the
# visibility timeout, so it sits just above the longest time limit instead of Celery's hour.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a task must not hold a request long when the broker is down: a short connection
# timeout and two quick retries, then enqueue_on_commit logs the failure and the sweeps do the
# work (see the README, "When a dependency is down").
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues split by kind of work so that a burst of one cannot starve the others.
CELERY_TASK_ROUTES = {
    "routing.tasks.*": {"queue": "triage"},
    "contacts.tasks.send_*": {"queue": "mail"},
    "contacts.tasks.poll_*": {"queue": "mail"},
    "contacts.tasks.ocr_*": {"queue": "ocr"},
    "mediation.tasks.send_*": {"queue": "mail"},
    "reporting.tasks.*": {"queue": "reports"},
    "replies.tasks.*": {"queue": "mail"},
    "satisfaction.tasks.send_*": {"queue": "mail"},
    "outbox.tasks.*": {"queue": "mail"},
    "privacy.tasks.*": {"queue": "reports"},
}
CELERY_TIMEZONE = TIME_ZONE
# The task that triages a new ticket (routing), named here so `contacts` need not import it.
TRIAGE_TASK = "routing.tasks.triage_ticket"
# Its batch counterpart (a list of ids, TRIAGE_BATCH_SIZE at most): what an intake batch sends.
# Empty: one TRIAGE_TASK message per ticket.
TRIAGE_BATCH_TASK = "routing.tasks.triage_tickets"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Mediation: remind departments of requests for comment due within two working days (each
# request is reminded once; the task claims it). Working mornings, Europe/Paris.
CELERY_BEAT_SCHEDULE["mediation-remind-comment-requests"] = {
    "task": "mediation.tasks.remind_comment_requests",
    "schedule": crontab(minute=30, hour=8, day_of_week="mon-fri"),
}
# The intake's IMAP poller: every active brand mailbox, each minute by default.
CELERY_BEAT_SCHEDULE["contacts-poll-mailboxes"] = {
    "task": "contacts.tasks.poll_mailboxes",
    "schedule": env_int("MAILBOX_POLL_SECONDS", 60, minimum=5),
}
# The OCR sweep: scans whose OCR message was lost (still `pending` OCR_STALLED_AFTER_MINUTES
# after it was asked for), and letters waiting for Tesseract once it is back, are read again.
OCR_STALLED_AFTER_MINUTES = env_int("OCR_STALLED_AFTER_MINUTES", 10, minimum=1)
CELERY_BEAT_SCHEDULE["contacts-ocr-sweep"] = {
    "task": "contacts.tasks.ocr_sweep",
    "schedule": env_int("OCR_SWEEP_SECONDS", 300, minimum=30),
}
# Dashboards: recompute the rollups of the days touched since the last run (idempotent; a
# run finding another in progress skips), and nightly re-check tickets saved with no event.
# The outbox: due deferred messages, queued ones whose task message was lost (after a
# minute), and messages left `sending` by a dead worker go out again.
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {
    "task": "outbox.tasks.sweep_outbox",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["reporting-refresh-rollups"] = {
    "task": "reporting.tasks.refresh_rollups",
    "schedule": env_int("ROLLUP_REFRESH_SECONDS", 300, minimum=30),
}
CELERY_BEAT_SCHEDULE["reporting-reconcile-rollups"] = {
    "task": "reporting.tasks.reconcile_rollups",
    "schedule": crontab(minute=15, hour=3),
}

# --- personal data (privacy) --------------------------------------------------------------------

# Who the viewers' data is kept by, as the access file and the register name it.
PRIVACY_CONTROLLER = (
    env_str("PRIVACY_CONTROLLER")
    or "France Télévisions — service des relations avec les téléspectateurs"
)
# An address that also takes unsubscribe requests (List-Unsubscribe mailto); empty: link only.
PRIVACY_UNSUBSCRIBE_MAILTO = env_str("PRIVACY_UNSUBSCRIBE_MAILTO", "")
# The nightly retention run: rows per transaction, and seconds per slice of the task (each
# slice enqueues the next one until the run is done).
PRIVACY_RETENTION_BATCH = env_int("PRIVACY_RETENTION_BATCH", 1000, minimum=1)
PRIVACY_RETENTION_SLICE_SECONDS = env_int("PRIVACY_RETENTION_SLICE_SECONDS", 180, minimum=1)
CELERY_BEAT_SCHEDULE["privacy-retention-nightly"] = {
    "task": "privacy.tasks.retention_nightly",
    "schedule": crontab(minute=30, hour=2),
}

# --- triage and SLA (routing) -------------------------------------------------------------------

# The classifier decides only where no rule did, and only with at least this confidence (0–1).
# Unset: the threshold stored in the live policy's defaults (managers edit it); set: this value
# overrides it everywhere.
TRIAGE_CLASSIFIER_THRESHOLD: float | None = None
if env_str("TRIAGE_CLASSIFIER_THRESHOLD"):
    try:
        TRIAGE_CLASSIFIER_THRESHOLD = float(env_str("TRIAGE_CLASSIFIER_THRESHOLD"))
    except ValueError:
        raise ImproperlyConfigured("TRIAGE_CLASSIFIER_THRESHOLD must be a number") from None
    if not 0.0 <= TRIAGE_CLASSIFIER_THRESHOLD <= 1.0:
        raise ImproperlyConfigured("TRIAGE_CLASSIFIER_THRESHOLD must be between 0 and 1")
# The viewer's history the triage looks at (open tickets, earlier answers), and the window of
# "repeat contacts on the same subject".
TRIAGE_HISTORY_DAYS = env_int("TRIAGE_HISTORY_DAYS", 365, minimum=1)
TRIAGE_REPEAT_DAYS = env_int("TRIAGE_REPEAT_DAYS", 90, minimum=1)
# A ticket still `new` after this long lost its triage message: the sweep enqueues it again.
TRIAGE_STALLED_AFTER_MINUTES = env_int("TRIAGE_STALLED_AFTER_MINUTES", 5, minimum=1)
# Triage configuration (live policy id, teams, SLA policies) is re-read at most this often by
# each worker process: a manager's change applies everywhere within this delay.
TRIAGE_CONFIG_CACHE_SECONDS = env_int("TRIAGE_CONFIG_CACHE_SECONDS", 10)
# A triage worker takes up to this many waiting tickets in one transaction (bursts).
TRIAGE_BATCH_SIZE = env_int("TRIAGE_BATCH_SIZE", 50, minimum=1)
# Pauses (waiting for the viewer) shift due dates by working time through this hook.
SLA_RESUME_HOOK = "routing.sla.resume_after_pause"
# A ticket is "at risk" once this share of its allowed time is used.
SLA_AT_RISK_RATIO = env_int("SLA_AT_RISK_PERCENT", 75, minimum=1) / 100
# The SLA sweep looks at tickets due within this many days (longer allowances are not at
# risk yet).
SLA_RISK_HORIZON_DAYS = env_int("SLA_RISK_HORIZON_DAYS", 30, minimum=1)
CELERY_BEAT_SCHEDULE["routing-triage-sweep"] = {
    "task": "routing.tasks.triage_sweep",
    "schedule": 120.0,
}
CELERY_BEAT_SCHEDULE["routing-sla-sweep"] = {
    "task": "routing.tasks.sla_sweep",
    "schedule": 300.0,
}

# --- REST API ----------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    # JSON only, bounded (size, depth, characters): see frt_crm/api_input.py.
    "DEFAULT_PARSER_CLASSES": ["frt_crm.api_input.JSONParser"],
    # One error body for every refusal: see frt_crm/api_errors.py.
    "EXCEPTION_HANDLER": "frt_crm.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "frt_crm.api_schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute", "user": "6000/minute"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FRT CRM API",
    "DESCRIPTION": "Integrations API of the viewer-relations CRM (telephony, web forms, "
    "mail gateway, exports).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Documentation assets come from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"TicketStatusEnum": "contacts.models.Status"},
}

# --- logging -----------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be a logging level name, not {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A refused request (4xx) is one line, never a traceback (frt_crm/log_filters.py): on the
    # loggers for every handler (tests' included), on the handler for django.security.*.
    "filters": {"refusals": {"()": "frt_crm.log_filters.RefusalWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusals"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["refusals"]},
        "django.security": {"filters": ["refusals"]},
        # django-axes logs every sign-in at INFO; failures and lock-outs are WARNING.
        "axes": {"level": "WARNING"},
    },
}
