"""Settings shared by every environment; deployment-specific values come from the environment."""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("IPBX_VAR_DIR", str(BASE_DIR / "var")))

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - refused by prod.py
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "channels",
    "agents",
    "icm",
    "ivr",
    "stats",
    "recording",
    "fax",
    "supervision",
    "outbound",
    "voicemail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ipbx_project.urls"
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
ASGI_APPLICATION = "ipbx_project.asgi.application"
WSGI_APPLICATION = None

DATABASE_URL = env_str("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ipbx")
# Connections stay open between requests (conn_max_age); the health check tests a kept
# connection before its first use in a request, so a database restart costs a reconnect, not
# a failed request per thread (issue 21).
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Redis pub/sub ignores the database number: installations sharing one Redis server on
# different databases (or the benchmarks beside `make run`) get a channel-layer prefix each,
# or one's group messages (a desktop's sign-out, a bulletin) would reach the other's sockets.
_REDIS_DB = urlsplit(REDIS_URL).path.strip("/") or "0"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": "asgi" if _REDIS_DB == "0" else f"asgi{_REDIS_DB}",
        },
    }
}
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "apply-scheduled-queue-changes": {
        "task": "icm.apply_scheduled_queue_changes",
        "schedule": 15.0,  # seconds: a scheduled change applies within 15 s of its time
        "options": {"expires": 30},  # a tick no worker took in time is dropped (issue 18)
    },
    "dispatch-due-callbacks": {
        "task": "agents.dispatch_due_callbacks",
        "schedule": 5.0,  # seconds: a scheduled call-back rings within 5 s of its time (AG-17)
        "options": {"expires": 10},  # a tick no worker took in time is dropped, not piled up
    },
    "process-new-recordings": {
        "task": "recording.process_new_recordings",
        "schedule": 5.0,  # seconds: a finished recording is catalogued within 5 s
        "options": {"expires": 10},
    },
    "apply-recording-retention": {
        "task": "recording.apply_retention",
        "schedule": 3600.0,
        "options": {"expires": 3600},  # the next hour's run does it, not a pile of late ones
    },
    "deliver-voicemail": {
        "task": "voicemail.deliver_pending",
        "schedule": 60.0,  # seconds: a message icm could not email is retried within a minute
        "options": {"expires": 120},
    },
    "apply-voicemail-retention": {
        "task": "voicemail.apply_retention",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    "aggregate-statistics": {
        "task": "stats.aggregate",
        "schedule": 60.0,  # seconds: the interval tables are at most a minute behind the facts
        "options": {"expires": 120},
    },
    "backup-recordings": {
        "task": "recording.backup_recordings",
        "schedule": 60.0,
        "options": {"expires": 120},
    },
    "pace-campaigns": {
        "task": "outbound.pace",
        "schedule": 1.0,  # seconds: the outbound pacer's step (icm paces the originates)
        "options": {"expires": 2},
    },
    "rate-trunk-legs": {
        "task": "stats.rate_legs",
        "schedule": 60.0,  # seconds: an ended trunk leg has its cost within a minute
        "options": {"expires": 120},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/wallboard/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("IPBX_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Browser libraries installed from npm (`package.json`; `make run` / `make test` run npm ci)
STATICFILES_DIRS = [
    ("vendor/drawflow", BASE_DIR / "node_modules" / "drawflow" / "dist"),
    ("vendor/uplot", BASE_DIR / "node_modules" / "uplot" / "dist"),
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # HTTP Basic only when IPBX_API_BASIC_AUTH is set (the sign-in protection block below)
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

# --- FreeSWITCH ------------------------------------------------------------------------------
# The switch this icm process drives (one icm per site); more nodes are rows in icm.Switch.
FREESWITCH_DEFAULT_ESL_PASSWORD = "ClueCon"  # noqa: S105 - FreeSWITCH's default, refused by prod.py
IPBX_SWITCH_NAME = env_str("IPBX_SWITCH_NAME", "fs1")
FREESWITCH_ESL_HOST = env_str("FREESWITCH_ESL_HOST", "127.0.0.1")
FREESWITCH_ESL_PORT = env_int("FREESWITCH_ESL_PORT", 8021)
FREESWITCH_ESL_PASSWORD = env_str("FREESWITCH_ESL_PASSWORD", FREESWITCH_DEFAULT_ESL_PASSWORD)
# Networks allowed to reach the event socket (FreeSWITCH's apply-inbound-acl); required in
# production when the event socket is not on loopback.
FREESWITCH_ESL_ACL = env_list("FREESWITCH_ESL_ACL")
FREESWITCH_ESL_COMMAND_TIMEOUT = float(env_str("FREESWITCH_ESL_COMMAND_TIMEOUT", "10"))
# A half-open connection is declared dead after this many seconds without any event
# (FreeSWITCH sends HEARTBEAT every 20 s: two missed beats).
FREESWITCH_ESL_HEARTBEAT_TIMEOUT = float(env_str("FREESWITCH_ESL_HEARTBEAT_TIMEOUT", "45"))
# How long web / Celery wait for icm to answer a command before reporting it unavailable.
# Longer than FREESWITCH_ESL_COMMAND_TIMEOUT, so icm's own time-out answers first.
ICM_COMMAND_REPLY_TIMEOUT = float(env_str("ICM_COMMAND_REPLY_TIMEOUT", "15"))
# … then, if icm had already taken the command, how much longer they wait for its real reply
# before answering "outcome unknown" (icm.bus.commands; issue 21).
ICM_COMMAND_GRACE = float(env_str("ICM_COMMAND_GRACE", "5"))
# How often icm checks that agents' ringing / talking legs still exist on the switch.
ICM_RECONCILE_INTERVAL = float(env_str("ICM_RECONCILE_INTERVAL", "10"))
# … for legs older than this many seconds (a fresh originate may not exist yet).
ICM_RECONCILE_GRACE = float(env_str("ICM_RECONCILE_GRACE", "5"))
# THE recording storage: icm asks the switch to record to absolute paths under this directory
# and the catalogue reads the files from it, so it must be the same path on the switch's host
# and here (shared storage in production); freeswitch_conf's ipbx_recordings_dir must equal
# it. Made absolute: a relative path would be resolved by the switch under its sound_prefix.
# icm's outbox: rows the database could not take yet spill here beyond ICM_OUTBOX_LIMIT per
# stream (CDRs, agent log, facts …) and are written back, first, once it answers again
ICM_OUTBOX_DIR = Path(env_str("ICM_OUTBOX_DIR", str(VAR_DIR / "outbox"))).absolute()
ICM_OUTBOX_LIMIT = env_int("ICM_OUTBOX_LIMIT", 50000)
IPBX_RECORDINGS_DIR = Path(env_str("IPBX_RECORDINGS_DIR", str(VAR_DIR / "recordings"))).absolute()
# Backup locations of recordings, comma separated: dir:/mounted/archive (REC-10)
IPBX_RECORDING_BACKUP = env_str("IPBX_RECORDING_BACKUP", "")
# … an S3-compatible store for `s3:<bucket>/<prefix>` locations (empty endpoint: AWS)
IPBX_S3_ENDPOINT_URL = env_str("IPBX_S3_ENDPOINT_URL", "")
IPBX_S3_ACCESS_KEY = env_str("IPBX_S3_ACCESS_KEY", "")
IPBX_S3_SECRET_KEY = env_str("IPBX_S3_SECRET_KEY", "")
IPBX_S3_REGION = env_str("IPBX_S3_REGION", "us-east-1")
# Voicemail (IVR-7): messages are kept this many days unless the mailbox says otherwise;
# new ones are emailed from IPBX_VOICEMAIL_FROM through this plain SMTP server
IPBX_VOICEMAIL_RETENTION_DAYS = env_int("IPBX_VOICEMAIL_RETENTION_DAYS", 90)
IPBX_VOICEMAIL_FROM = env_str("IPBX_VOICEMAIL_FROM", "voicemail@localhost")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("IPBX_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("IPBX_SMTP_PORT", 25)
EMAIL_HOST_USER = env_str("IPBX_SMTP_USER", "")
EMAIL_HOST_PASSWORD = env_str("IPBX_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("IPBX_SMTP_STARTTLS", False)
EMAIL_USE_SSL = env_bool("IPBX_SMTP_SSL", False)
EMAIL_TIMEOUT = env_int("IPBX_SMTP_TIMEOUT", 10)
# SV-9: the extension an intercepted call goes to (the QA desk); empty: the supervisor names it
IPBX_QA_DESK_EXTENSION = env_str("IPBX_QA_DESK_EXTENSION", "")
# Wallboard alarm: an agent not ready longer than this many seconds (0: never)
IPBX_ALARM_NOT_READY_SECONDS = float(env_str("IPBX_ALARM_NOT_READY_SECONDS", "900"))
# statistics: callers who gave up sooner are "short abandons" (counted apart, left out of
# the service level); icm writes a system snapshot fact every … seconds
IPBX_SHORT_ABANDON_SECONDS = float(env_str("IPBX_SHORT_ABANDON_SECONDS", "5"))
# call-backs whose customer does not answer (issue 20 item 3): per queue in the admin
# (agents.CallbackRetryRule), else these
IPBX_CALLBACK_MAX_ATTEMPTS = int(env_str("IPBX_CALLBACK_MAX_ATTEMPTS", "3"))
IPBX_CALLBACK_SPACING_MINUTES = int(env_str("IPBX_CALLBACK_SPACING_MINUTES", "10"))
IPBX_CALLBACK_RING_SECONDS = int(env_str("IPBX_CALLBACK_RING_SECONDS", "30"))
IPBX_STATS_SNAPSHOT_SECONDS = float(env_str("IPBX_STATS_SNAPSHOT_SECONDS", "30"))
# Customer look-up by caller number for routing priority: a callable ani -> (account,
# grade) | None, and how long it may take before the call is routed at default priority.
IPBX_CUSTOMER_CONNECTOR = env_str("IPBX_CUSTOMER_CONNECTOR", "icm.routing_lookup.database_customer")
IPBX_CUSTOMER_LOOKUP_TIMEOUT = float(env_str("IPBX_CUSTOMER_LOOKUP_TIMEOUT", "1.5"))

# --- IVR -------------------------------------------------------------------------------------
# TTS engine|voice per caller language (`default` for the rest); see freeswitch_conf's
# modules.conf.xml (mod_flite speaks English, espeak-ng through mod_tts_commandline others).
IVR_TTS_VOICES = {
    "default": "flite|kal",
    "es": "tts_commandline|es",
    "fr": "tts_commandline|fr",
    "de": "tts_commandline|de",
    "zh": "tts_commandline|cmn",
}
# Uploaded voice prompts: the web writes them to IVR_PROMPTS_DIR; the switch reads the same
# files as IVR_PROMPTS_SWITCH_DIR (a shared directory on another host). Flows name them
# `prompt:<name>`.
IVR_PROMPTS_DIR = Path(env_str("IVR_PROMPTS_DIR", str(BASE_DIR / "var" / "prompts")))
IVR_PROMPTS_SWITCH_DIR = env_str("IVR_PROMPTS_SWITCH_DIR", str(IVR_PROMPTS_DIR))
# Prompts shipped with IPBX (sounds/: the demo's, queue greetings, music on hold). Flows,
# greetings and campaign messages name them by a path relative to this directory
# (`ivr/welcome.wav`); the switch resolves relative paths under its `sound_prefix`, which
# freeswitch_conf sets to ipbx_sounds_dir: a copy of this directory (docs/freeswitch.md).
# Publishing a flow checks its files here.
IVR_SOUNDS_DIR = Path(env_str("IVR_SOUNDS_DIR", str(BASE_DIR / "sounds")))
# User-defined data-access connectors (IVR-3): entry-point name -> dotted path of a callable
# `params -> {field: value}`; DataConnector rows of kind "python" name one of these.
IVR_PYTHON_CONNECTORS: dict[str, str] = {}
# --- IVR connectors' reach (issue 18 item 9; docs/ivr.md "Data access") ---
# The SQL connector's `database: "default"` connects with this PostgreSQL URL: a dedicated
# role that may only SELECT what flows read. Empty: the application's own credentials
# (development only: `check --deploy` warns, ivr.W001).
IVR_SQL_DATABASE_URL = env_str("IVR_SQL_DATABASE_URL", "")
# Hosts the HTTP connector may call: names, `.example.com` suffixes or IP networks. Empty:
# public addresses only (no loopback or private ones). Link-local / cloud-metadata addresses
# (169.254.169.254 …) are refused always.
IVR_HTTP_ALLOWED_HOSTS = env_list("IVR_HTTP_ALLOWED_HOSTS")
# --- end IVR connectors' reach ---
# Dialplan contexts an API originate may run its destination in.
ICM_ORIGINATE_CONTEXTS = env_list("ICM_ORIGINATE_CONTEXTS", ["default"])
ICM_OUTBOUND_HOST = env_str("ICM_OUTBOUND_HOST", "127.0.0.1")
ICM_OUTBOUND_PORT = env_int("ICM_OUTBOUND_PORT", 8084)
# Networks or addresses whose switches may connect to icm's outbound socket (empty: loopback
# only; when set, exactly these). Production refuses a non-loopback ICM_OUTBOUND_HOST without
# it (like FREESWITCH_ESL_ACL).
ICM_OUTBOUND_ALLOWED = env_list("ICM_OUTBOUND_ALLOWED")

# mod_xml_curl: FreeSWITCH fetches directory/dialplan from us. Shared secret (HTTP basic auth
# password, user "freeswitch") and allowed client addresses.
XML_CURL_USER = env_str("XML_CURL_USER", "freeswitch")
XML_CURL_SECRET = env_str("XML_CURL_SECRET", "")
XML_CURL_ALLOWED_ADDRESSES = env_list("XML_CURL_ALLOWED_ADDRESSES", ["127.0.0.1", "::1"])
# Directory users are marked `cacheable` (ms; -1: until flushed): FreeSWITCH then reaches an
# agent's phone (`user/<ext>` originate) without an HTTP fetch per offer (an expired entry cost
# one offer ~340 ms on a real switch). Saving an extension or its agent makes icm flush it
# (`xml_flush_cache`). 0: fetched every time.
XML_CURL_USER_CACHE_MS = env_int("XML_CURL_USER_CACHE_MS", -1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": env_str("IPBX_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- OpenAPI schema of the REST API (issue 18 item 12) ---------------------------------------
# drf-spectacular describes every /api/ operation at /api/schema/ (signed-in users); the
# browsable docs page /api/docs/ (staff only) is Swagger UI served from the installed
# drf-spectacular-sidecar package: nothing is downloaded at run time.
INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
SPECTACULAR_SETTINGS = {
    "TITLE": "IPBX REST API",
    "DESCRIPTION": "Live calls, routing configuration, IVR flows, agents, supervision, "
    "recordings, statistics and outbound campaigns.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"CallStateEnum": "icm.models.calls.CallState"},
}

# --- Sign-in protection (issue 18 items 3 and 6) ---------------------------------------------
# Every credential check (the sign-in page, the admin's, HTTP Basic on the API, the agents'
# phone-bar sign-in) goes through one brute-force limiter shared by all processes in Redis
# (accounts.throttle): IPBX_SIGN_IN_FAILURES failed tries of one account from one client
# address lock that pair for IPBX_SIGN_IN_LOCKOUT_SECONDS (the owner still signs in from
# elsewhere); IPBX_SIGN_IN_CLIENT_FAILURES failures from one address over all accounts lock
# the address (0: no such limit). `manage.py reset_sign_in_lockouts` unlocks sooner.
INSTALLED_APPS += ["accounts"]
MIDDLEWARE += ["accounts.middleware.SignInLockoutMiddleware"]
# Redis or PostgreSQL down: a view's request answers 503 + Retry-After, not a 500 (issue 21)
MIDDLEWARE += ["ipbx_project.outages.OutageMiddleware"]
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]
IPBX_SIGN_IN_FAILURES = env_int("IPBX_SIGN_IN_FAILURES", 5)
IPBX_SIGN_IN_LOCKOUT_SECONDS = env_int("IPBX_SIGN_IN_LOCKOUT_SECONDS", 900)
IPBX_SIGN_IN_CLIENT_FAILURES = env_int("IPBX_SIGN_IN_CLIENT_FAILURES", 50)
# The client address is REMOTE_ADDR, unless that is one of these reverse proxies (addresses or
# networks): then X-Forwarded-For is read from the right, past the trusted proxies. Set it
# behind a proxy, or every user shares the proxy's address (its per-address limit above).
IPBX_TRUSTED_PROXIES = env_list("IPBX_TRUSTED_PROXIES")
# HTTP Basic authentication on the API (scripts of business systems); off by default: browsers
# use their session, and a password on every request is a credential to guess.
IPBX_API_BASIC_AUTH = env_bool("IPBX_API_BASIC_AUTH", False)
if IPBX_API_BASIC_AUTH:
    REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] += [
        "rest_framework.authentication.BasicAuthentication"
    ]
# A NUL character (PostgreSQL text cannot hold one) is refused where input enters: query
# strings, JSON / form bodies, HTTP Basic credentials (ipbx_project.api_input).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "ipbx_project.api_input.RefuseNulMiddleware",
)
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "ipbx_project.api_input.JSONParser",
    "ipbx_project.api_input.FormParser",
    "ipbx_project.api_input.MultiPartParser",
]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    name.replace("rest_framework.authentication.", "ipbx_project.api_input.")
    if name == "rest_framework.authentication.BasicAuthentication"
    else name
    for name in REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
]
