"""Root fixtures for the test suite (per-area fixtures live in tests/fixtures/)."""

pytest_plugins = ["tests.fixtures.processes", "tests.fixtures.browser"]
