"""Test settings: real PostgreSQL and Redis (from DATABASE_URL / REDIS_URL, else embedded ones)."""

import os
import re
from urllib.parse import urlsplit, urlunsplit

if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
    # A bare `pytest` on a fresh machine still gets real servers.
    from ipbx_project.devservices import ensure

    ensure()

# Tests use their own Redis database so that `make run` on the same Redis never shows test
# switches (the bus's event channel is named after the database: keys.events_channel). Two
# suites at once (e.g. two engineers on one machine) each set IPBX_TEST_REDIS_DB and their own
# DATABASE_URL.
# Under pytest-xdist each worker (gw0, gw1 …) takes the next database: IPBX_TEST_REDIS_DB + its
# index, as pytest-django gives each worker its own PostgreSQL database (test_<name>_gw<n>).
# The subprocesses a test starts inherit PYTEST_XDIST_WORKER, so they land on the same one.
_worker = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
TEST_REDIS_DB = int(os.environ.get("IPBX_TEST_REDIS_DB", "12")) + (
    int(_worker[1]) if _worker else 0
)
os.environ["REDIS_URL"] = urlunsplit(
    urlsplit(os.environ["REDIS_URL"])._replace(path=f"/{TEST_REDIS_DB}")
)

from .base import *  # noqa: E402, F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
XML_CURL_SECRET = "test-xml-curl-secret"  # noqa: S105 - test only
WHITENOISE_USE_FINDERS = True
ICM_COMMAND_REPLY_TIMEOUT = 2.0
# Redis pub/sub ignores the database number: the channel layer's groups (an agent's desktop
# sockets, `agents.desktop_sessions`) get a prefix of their own per test database, or a sign-out
# in one session (or xdist worker) would close the same agent's desktop in another.
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"asgi-test{TEST_REDIS_DB}"  # noqa: F405
# Uploaded prompts of test runs stay out of `make run`'s directory, one directory per worker.
IVR_PROMPTS_DIR = BASE_DIR / "var" / "test-prompts" / f"db{TEST_REDIS_DB}"  # noqa: F405
IVR_PROMPTS_SWITCH_DIR = str(IVR_PROMPTS_DIR)
