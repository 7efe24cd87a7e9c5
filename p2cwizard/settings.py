"""P2C Wizard settings.

Everything configurable comes from environment variables read through the
small typed helpers below, which fail loudly on a bad value instead of
guessing. With nothing set the app runs embedded: SQLite and uploads under
`var/`, Celery on kombu's filesystem broker.
"""

import contextlib
import json
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = env_str(name)
    return Path(raw).resolve() if raw else default


# Customer exports, the database and the secret key are written under var/
# and the media folder: nothing this process writes is readable by other local
# users (folders 0700, files 0600), whoever started it with whatever umask.
os.umask(0o077)
VAR_DIR = env_path("P2C_VAR_DIR", BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
with contextlib.suppress(PermissionError):  # a folder someone else owns stays as they set it
    VAR_DIR.chmod(0o700)  # also a var/ made before this rule


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into var/."""
    if key := env_str("SECRET_KEY"):
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        # Written whole to a private temp file, then linked into place: the
        # key is never readable by others, and when the web server and the
        # worker start together the first link wins and both read its key.
        fd, tmp = tempfile.mkstemp(dir=VAR_DIR, prefix=".secret_key.")
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "formtools",
    # Named parts of a template ({% partialdef %}): step 8's table cards draw the rows of the
    # jobs and verification partials where they stand, one table at a time.
    "template_partials",
    "axes",
    "csp",
    "migration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise serves static files only; uploads go through a permission-checked view.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

# django-axes counts failed sign-ins (app and admin alike) per user name and
# address; past the limit that pair is locked out for a while. An
# administrator unlocks it under Admin > Access attempts.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("P2C_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("P2C_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # its start-up banner would end up in every command's output
AXES_LOCKOUT_CALLABLE = "p2cwizard.accounts.locked_out"


def oidc_from_env() -> dict:
    """Sign in with Microsoft (Entra ID, OpenID Connect): on when its tenant, client id and
    secret are all set; off, with the login page as before, when none is; refused when only some are."""
    names = ("P2C_OIDC_TENANT_ID", "P2C_OIDC_CLIENT_ID", "P2C_OIDC_CLIENT_SECRET")
    values = {name: env_str(name) for name in names}
    missing = [name for name, value in values.items() if not value]
    if len(missing) == len(names):
        return {"enabled": False}
    if missing:
        raise ImproperlyConfigured(
            f"{', '.join(missing)} not set: Sign in with Microsoft needs {', '.join(names)} together "
            "(or none of them, for local sign-in only)"
        )
    tenant = values["P2C_OIDC_TENANT_ID"]
    # Empty is unset, as Docker Compose passes variables nobody set.
    authority = env_str("P2C_OIDC_AUTHORITY") or f"https://login.microsoftonline.com/{tenant}/v2.0"
    authority = authority.rstrip("/")
    if not authority.startswith("https://"):
        raise ImproperlyConfigured(f"P2C_OIDC_AUTHORITY={authority!r} must be an https:// address")
    return {
        "enabled": True,
        "tenant_id": tenant,
        "client_id": values["P2C_OIDC_CLIENT_ID"],
        "client_secret": values["P2C_OIDC_CLIENT_SECRET"],
        "authority": authority,
        "allowed_tenants": [t.lower() for t in env_list("P2C_OIDC_ALLOWED_TENANTS", []) or [tenant]],
    }


P2C_OIDC = oidc_from_env()

# Reading Sales and F&O (migration/dynamics, docs/connections.md): where app registrations get
# their tokens (another cloud's sign-in host for sovereign clouds), and how many requests one
# connection sends at once at most (x-ms-dop-hint may lower it).
P2C_AUTHORITY_URL = env_str("P2C_AUTHORITY_URL", "https://login.microsoftonline.com").rstrip("/")
if not P2C_AUTHORITY_URL.startswith("https://"):
    raise ImproperlyConfigured(f"P2C_AUTHORITY_URL={P2C_AUTHORITY_URL!r} must be an https:// address")
P2C_DYNAMICS_CONCURRENCY = env_int("P2C_DYNAMICS_CONCURRENCY", 4, minimum=1)
# Records a page when pulling a table (Dataverse takes at most 5,000).
P2C_DYNAMICS_PAGE_SIZE = min(env_int("P2C_DYNAMICS_PAGE_SIZE", 5000, minimum=1), 5000)
# Updates per $batch request when writing back to Sales (Dataverse takes at most 1,000).
P2C_WRITEBACK_BATCH_SIZE = min(env_int("P2C_WRITEBACK_BATCH_SIZE", 100, minimum=1), 1000)
# Records per Celery task when writing back: a killed worker's task is sent again whole (what it
# wrote comes back as planned and is not written twice), and two workers share a table's chunks.
P2C_WRITEBACK_CHUNK = env_int("P2C_WRITEBACK_CHUNK", 1000, minimum=1)
# Keys that encrypt the connections' client secrets at rest (Fernet keys, comma-separated: the
# first encrypts, every one decrypts, so a key is rotated by putting the new one first). Make one
# with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
P2C_SECRETS_KEY = env_list("P2C_SECRETS_KEY", [])

ROOT_URLCONF = "p2cwizard.urls"
WSGI_APPLICATION = "p2cwizard.wsgi.application"

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

# SQLite: the worker and the web server write to the same file, so wait for the lock (timeout,
# SQLite's busy timeout) instead of failing with "database is locked". Write-ahead logging lets
# pages read while a job writes its progress (readers and the writer no longer block each other);
# synchronous=NORMAL is safe with it (a power cut may lose the last commits, never corrupts).
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
            # Each web thread keeps its connection between requests, as with DATABASE_URL: opening
            # one (and setting it up) on every request costs more than a status poll's queries.
            "CONN_MAX_AGE": 60,
            # A file, not memory: tests run real worker processes against it.
            "TEST": {"NAME": str(VAR_DIR / "test_db.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id with OWASP's minimum parameters first: new passwords, and old PBKDF2 hashes at their
# user's next sign-in. Every hasher holds to P2C_PASSWORD_CHECKS hashes at once per web process, so
# a burst of sign-ins queues instead of taking every thread (p2cwizard/passwords.py says why).
PASSWORD_HASHERS = [
    "p2cwizard.passwords.Argon2idHasher",
    "p2cwizard.passwords.BoundedPBKDF2Hasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
P2C_PASSWORD_CHECKS = env_int("P2C_PASSWORD_CHECKS", 1, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = env_path("MEDIA_ROOT", VAR_DIR / "media")
MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
# Every temporary file of a job lives under P2C_TMP_DIR/jobs/<job>/<attempt>
# (local to each machine), so a killed attempt's leftovers can be found and removed.
P2C_TMP_DIR = env_path("P2C_TMP_DIR", VAR_DIR / "tmp")


def env_json(name: str, default: dict) -> dict:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object of storage options")
    return value


# Uploads and results. Web and workers on several machines share one storage: Azure Blob Storage
# (P2C_STORAGE=azure), a network folder as MEDIA_ROOT (docs/deployment.md), or any Django storage
# class (P2C_STORAGE=dotted.path, its OPTIONS as JSON in P2C_STORAGE_OPTIONS).
FILESYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"
AZURE_STORAGE = "migration.blob.AzureBlobStorage"


def azure_storage_options() -> dict:
    """Container and credential from the environment: a connection string, an account key, or
    (neither given) the machine's managed identity through azure-identity."""
    options = {"azure_container": env_str("P2C_AZURE_CONTAINER", "p2c-files")}
    connection_string = env_str("AZURE_STORAGE_CONNECTION_STRING")
    if connection_string:
        return {**options, "connection_string": connection_string}
    account = env_str("AZURE_STORAGE_ACCOUNT")
    if not account:
        raise ImproperlyConfigured(
            "P2C_STORAGE=azure needs AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT "
            "(with AZURE_STORAGE_KEY, or a managed identity)"
        )
    options["account_name"] = account
    key = env_str("AZURE_STORAGE_KEY")
    if key:
        return {**options, "account_key": key}
    from azure.identity import DefaultAzureCredential  # managed identity; AZURE_CLIENT_ID picks one

    return {**options, "token_credential": DefaultAzureCredential()}


def default_storage_from_env() -> dict:
    choice = env_str("P2C_STORAGE", "") or env_str("P2C_STORAGE_BACKEND", "filesystem")
    if choice == "filesystem":
        return {"BACKEND": FILESYSTEM_STORAGE, "OPTIONS": env_json("P2C_STORAGE_OPTIONS", {})}
    if choice in ("azure", AZURE_STORAGE):
        return {"BACKEND": AZURE_STORAGE, "OPTIONS": azure_storage_options()}
    if "." not in choice:
        raise ImproperlyConfigured(f"P2C_STORAGE={choice!r}: use filesystem, azure or a storage class path")
    return {"BACKEND": choice, "OPTIONS": env_json("P2C_STORAGE_OPTIONS", {})}


STORAGES = {
    "default": default_storage_from_env(),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Largest accepted upload, in megabytes: the largest CSV Excel writes (1,048,576 rows) is about
# 420 MB for orders, and must go through; Sales' own export stops at 100,000 rows.
P2C_MAX_UPLOAD_MB = env_int("P2C_MAX_UPLOAD_MB", 512, minimum=1)
# Step 9's files (F&O exports, error logs) have their own limit: they are read in batches, but an
# error log rarely needs the size of an export; an upload still stops at P2C_MAX_UPLOAD_MB.
P2C_SYNC_UPLOAD_MB = env_int("P2C_SYNC_UPLOAD_MB", 512, minimum=1)
# Storage per migration (every upload version counts) and uploads per user per minute.
P2C_MIGRATION_QUOTA_GB = env_int("P2C_MIGRATION_QUOTA_GB", 20, minimum=1)
P2C_UPLOADS_PER_MINUTE = env_int("P2C_UPLOADS_PER_MINUTE", 20, minimum=1)
# Uploads stream to a temp file beyond this, never held whole in memory. The temp files go
# under P2C_TMP_DIR, not the system's /tmp: what a killed web process left there is removed at
# the next start of `serve` or of a worker (services/uploads.uploads_tmp_clean).
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(P2C_TMP_DIR / "uploads")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Step 8's import files are cut to this size: the Import data wizard takes at
# most 8 MB per file (32 MB for a .zip of files).
P2C_IMPORT_PART_MB = env_int("P2C_IMPORT_PART_MB", 8, minimum=1)
# The import rejects records modified in Sales after their re-export: warn
# when a re-export is older than this.
P2C_REEXPORT_MAX_AGE_HOURS = env_int("P2C_REEXPORT_MAX_AGE_HOURS", 24, minimum=1)

# Production behind an HTTPS proxy: one switch turns on what that needs.
# With it, DEBUG off, a real SECRET_KEY and a host name, `manage.py check
# --deploy --fail-level WARNING` reports nothing.
HTTPS = env_bool("P2C_HTTPS", False)
if HTTPS:
    # The proxy terminates TLS and says so in this header; it must overwrite
    # any X-Forwarded-Proto a client sends.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("P2C_HSTS_SECONDS", 365 * 24 * 3600, minimum=1)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Failed sign-ins are counted per (user, client address). Behind our P2C_TRUSTED_PROXIES proxies
# (with P2C_HTTPS; 0 = none), the client's address is the right-most that they put in
# X-Forwarded-For: each appends the address it received from (nginx's $proxy_add_x_forwarded_for)
# or the outer one sets the header to it. Anything left of that the client wrote itself.
TRUSTED_PROXIES = env_int("P2C_TRUSTED_PROXIES", 1, minimum=0) if HTTPS else 0
if TRUSTED_PROXIES:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_ORDER = "left-most"
    # ipware's count is of the proxies listed after the client in the header: the innermost
    # proxy is REMOTE_ADDR, not listed. Not strict: addresses the client added come before.
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXIES - 1
    IPWARE_STRICT = False
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# Content-Security-Policy on every response (django-csp): scripts, styles and
# images from this site only, no inline script or style, no framing, forms post
# here only. Templates and static/js keep to it; a browser test fails on any violation.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = HTTPS or env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# Mail, e.g. EMAIL_URL=smtp+tls://user:password@smtp.example.com:587. Password
# reset by mail is offered only when it is set: without mail it cannot work.
EMAIL_URL = env_str("EMAIL_URL")
PASSWORD_RESET_ENABLED = bool(EMAIL_URL)
if EMAIL_URL:
    try:
        _email = dj_email_url.parse(EMAIL_URL)
    except Exception as error:
        raise ImproperlyConfigured(f"EMAIL_URL is not a mail URL such as smtp://host:25 ({error})") from None
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST, EMAIL_PORT = _email["EMAIL_HOST"], _email["EMAIL_PORT"]
    EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_USER"], _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS, EMAIL_USE_SSL = _email["EMAIL_USE_TLS"], _email["EMAIL_USE_SSL"]
    EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or None
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "p2c-wizard@localhost")

# --- Celery -----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Where the service-protection pauses of Sales and F&O connections are shared by every worker
# (migration/dynamics/pauses.py): REDIS_URL unless set apart; none embedded (one worker).
P2C_DYNAMICS_PAUSES_URL = env_str("P2C_DYNAMICS_PAUSES_URL", REDIS_URL)
# The filesystem broker's folders (embedded, one machine): P2C_VAR_DIR/celery unless given, so
# processes with P2C_VAR_DIRs of their own can still share one broker.
CELERY_DIR = env_path("P2C_CELERY_DIR", VAR_DIR / "celery")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    # kombu's filesystem transport needs no server yet works across processes;
    # memory:// would only work inside one process.
    for folder in ("queue", "processed", "results", "control"):
        (CELERY_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DIR / "queue"),
        "data_folder_out": str(CELERY_DIR / "queue"),
        "processed_folder": str(CELERY_DIR / "processed"),
        "store_processed": False,
        # Broadcast/pidbox messages; kombu would otherwise write them to ./control.
        "control_folder": str(CELERY_DIR / "control"),
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_DIR / 'results'}"

# Job state lives in our own rows; Celery's result backend is only a courtesy.
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the task ran so a killed worker's job is redelivered;
# tasks are idempotent so a second run is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A child that has grown past this (a leak, a huge file) is replaced after its
# task, so it ends the child, not the machine. In KiB, as Celery counts.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("P2C_WORKER_MAX_MEMORY_MB", 2048, minimum=256) * 1024
# A broker restart must not stop a running job: it finishes and records its
# result in our database; cancelling it would leave nothing to redeliver when
# Redis keeps no data across restarts.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Time limits stay below Redis' visibility timeout, or a long job would be
# redelivered to a second worker while the first still runs it.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("P2C_TASK_SOFT_TIME_LIMIT", 50 * 60, minimum=10)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 5 * 60
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 10 * 60}
# The stale-job sweep runs only here, so polling pages stay reads. Exactly one
# beat per deployment (serve: in its worker).
CELERY_BEAT_SCHEDULE = {"sweep-stale-jobs": {"task": "migration.tasks.sweep_stale_jobs", "schedule": 60.0}}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    # Authlib's debug lines print sign-in secrets (the PKCE verifier): never, whatever LOG_LEVEL.
    # The Azure SDK logs every HTTP request and response at INFO: only its warnings matter here.
    "loggers": {"authlib": {"level": "INFO"}, "azure": {"level": "WARNING"}},
}
