"""Root fixtures for the test suite (per-area fixtures live in tests/fixtures/)."""

import pytest

pytest_plugins = ["tests.fixtures.processes", "tests.fixtures.browser"]


@pytest.fixture(scope="session", autouse=True)
def _fresh_test_redis_db():
    """Start from an empty Redis test database (settings/test.py keeps it apart)."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(autouse=True)
def _no_sign_in_lockouts():
    """Each test starts with no failed sign-in counted: the brute-force limiter keeps its
    counters in Redis (accounts.throttle), which outlives a test's database transaction."""
    from accounts import throttle

    throttle.reset()
