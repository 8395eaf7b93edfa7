"""Production settings: refuse to start with default secrets or an unprotected event socket."""

import ipaddress

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DEV_SECRET_KEY,
    FREESWITCH_DEFAULT_ESL_PASSWORD,
    FREESWITCH_ESL_ACL,
    FREESWITCH_ESL_HOST,
    FREESWITCH_ESL_PASSWORD,
    ICM_OUTBOUND_ALLOWED,
    ICM_OUTBOUND_HOST,
    SECRET_KEY,
    XML_CURL_SECRET,
)
from .env import env_bool, env_int, env_str


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_production_secrets() -> None:
    """Raise ImproperlyConfigured when a production secret is missing or a known default."""
    if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a random value of 50+ characters"
        )
    if FREESWITCH_ESL_PASSWORD == FREESWITCH_DEFAULT_ESL_PASSWORD or not FREESWITCH_ESL_PASSWORD:
        raise ImproperlyConfigured(
            "FREESWITCH_ESL_PASSWORD is FreeSWITCH's default 'ClueCon' (or empty): set a strong one"
        )
    if not _is_loopback(FREESWITCH_ESL_HOST) and not FREESWITCH_ESL_ACL:
        raise ImproperlyConfigured(
            f"FREESWITCH_ESL_HOST {FREESWITCH_ESL_HOST} is not loopback: set FREESWITCH_ESL_ACL "
            "to the networks allowed on the event socket"
        )
    if not _is_loopback(ICM_OUTBOUND_HOST) and not ICM_OUTBOUND_ALLOWED:
        raise ImproperlyConfigured(
            f"ICM_OUTBOUND_HOST {ICM_OUTBOUND_HOST} is not loopback: set ICM_OUTBOUND_ALLOWED to "
            "the networks of the switches allowed on icm's outbound socket"
        )
    if not XML_CURL_SECRET:
        raise ImproperlyConfigured("XML_CURL_SECRET must be set (mod_xml_curl basic-auth password)")


check_production_secrets()

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# SECURE_PROXY_SSL_HEADER: only when configured (issue 18 item 11), in the block below
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


# --- issue 18 items 10 and 11: the Redis bus is a trust boundary; proxy header; xml_curl ---
# Web and Celery command icm over Redis (icm.bus.commands): whoever can write to that Redis
# can drive the switch. Production refuses a Redis (bus, channel layer, Celery broker)
# reached without a password, unless over TLS (rediss://).
XML_CURL_SECRET_MIN_LENGTH = 24


def redis_url_is_protected(url: str) -> bool:
    """True for a rediss:// (TLS) URL or a Redis URL that carries a password (in its user
    info, or `?password=` as redis-py reads it); URLs of other brokers are not Redis's."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("redis", "unix", "redis+socket"):
        return True  # rediss:// (TLS) or not a Redis URL
    return bool(parts.password or any(parse_qs(parts.query).get("password", [])))


def check_production_bus() -> None:
    """Raise ImproperlyConfigured for an unprotected Redis or a short xml_curl secret."""
    from .base import CELERY_BROKER_URL, REDIS_URL

    for name, url in (("REDIS_URL", REDIS_URL), ("CELERY_BROKER_URL", CELERY_BROKER_URL)):
        if not redis_url_is_protected(url):
            raise ImproperlyConfigured(
                f"{name} has no Redis password: the command bus to icm must be protected "
                "(redis://:<password>@host:6379/0, or rediss:// for TLS)"
            )
    if len(XML_CURL_SECRET) < XML_CURL_SECRET_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"XML_CURL_SECRET must be {XML_CURL_SECRET_MIN_LENGTH}+ random characters "
            "(mod_xml_curl basic-auth password)"
        )


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """DJANGO_SECURE_PROXY_SSL_HEADER ("X-Forwarded-Proto" or "X-Forwarded-Proto=https"):
    the header a TLS-terminating proxy sets; None (not trusted) when unset."""
    if not value:
        return None
    header, _, expected = value.partition("=")
    name = header.strip().upper().replace("-", "_")
    return (name if name.startswith("HTTP_") else f"HTTP_{name}", expected.strip() or "https")


check_production_bus()
# Trusted only behind a proxy that sets it: anyone else could send it and pass as HTTPS.
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(env_str("DJANGO_SECURE_PROXY_SSL_HEADER"))
