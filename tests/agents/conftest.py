"""Fixtures of the agents tests: the two teams of the supervision tests (a team leader, an
agent and a queue each, and an administrator)."""

from tests.supervision.conftest import teams  # noqa: F401 - a fixture, shared
