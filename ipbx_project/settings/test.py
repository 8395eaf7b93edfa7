"""Test settings: real PostgreSQL and Redis (from DATABASE_URL / REDIS_URL), fast hashing."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
XML_CURL_SECRET = "test-xml-curl-secret"  # noqa: S105 - test only
