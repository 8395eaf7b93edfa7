"""Test settings: real PostgreSQL and Redis (from DATABASE_URL / REDIS_URL, else embedded ones)."""

import os

if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
    # A bare `pytest` on a fresh machine still gets real servers.
    from ipbx_project.devservices import ensure

    ensure()

# Tests use their own Redis database so that `make run` on the same Redis never shows test
# switches (pub/sub channels are shared, but test switch names are unique). Two suites at once
# (e.g. two engineers on one machine) each set IPBX_TEST_REDIS_DB and their own DATABASE_URL.
_redis = os.environ["REDIS_URL"].rsplit("/", 1)
_test_db = os.environ.get("IPBX_TEST_REDIS_DB", "15")
if _redis[-1].isdigit() and _redis[-1] != _test_db:
    os.environ["REDIS_URL"] = f"{_redis[0]}/{_test_db}"

from .base import *  # noqa: E402, F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
XML_CURL_SECRET = "test-xml-curl-secret"  # noqa: S105 - test only
WHITENOISE_USE_FINDERS = True
ICM_COMMAND_REPLY_TIMEOUT = 2.0
# Uploaded prompts of test runs stay out of `make run`'s directory.
IVR_PROMPTS_DIR = BASE_DIR / "var" / "test-prompts"  # noqa: F405
IVR_PROMPTS_SWITCH_DIR = str(IVR_PROMPTS_DIR)
