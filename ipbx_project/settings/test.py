"""Test settings: real PostgreSQL and Redis (from DATABASE_URL / REDIS_URL, else embedded ones)."""

import os

if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
    # A bare `pytest` on a fresh machine still gets real servers.
    from ipbx_project.devservices import ensure

    ensure()

from .base import *  # noqa: E402, F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
XML_CURL_SECRET = "test-xml-curl-secret"  # noqa: S105 - test only
WHITENOISE_USE_FINDERS = True
ICM_COMMAND_REPLY_TIMEOUT = 2.0
