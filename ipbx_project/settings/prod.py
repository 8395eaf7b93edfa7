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
    SECRET_KEY,
    XML_CURL_SECRET,
)
from .env import env_bool, env_int


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
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
