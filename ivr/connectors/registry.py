"""Connectors by name (IVR-3): the DataConnector rows, each with its own circuit breaker.

`lookup(name, params)` runs one connector with its time-out; failures in a row count
towards its breaker, and an open breaker fails at once (ConnectorError) until
`reset_seconds` pass, then lets one trial call through (half open). The breaker takes no
lock while a look-up runs (pybreaker holds one, which would queue every caller of a slow
back-end behind the others). Definitions are re-read every CACHE_SECONDS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import psycopg
import requests

from ivr.connectors import http, python, sql

log = logging.getLogger(__name__)
CACHE_SECONDS = 10.0

Runner = Callable[[Mapping[str, Any], Mapping[str, Any], float], dict[str, Any]]
RUNNERS: dict[str, tuple[Callable[[Mapping[str, Any]], None], Runner]] = {
    "sql": (sql.check, sql.run),
    "http": (http.check, http.run),
    "python": (python.check, python.run),
}


class ConnectorConfigError(ValueError):
    """A connector definition that cannot work; says why."""


class ConnectorError(RuntimeError):
    """A lookup that failed (time-out, back-end error, open circuit, unknown connector)."""


def check_config(kind: str, config: Mapping[str, Any], timeout: float) -> None:
    if kind not in RUNNERS:
        raise ConnectorConfigError(f"unknown kind {kind!r} (one of {sorted(RUNNERS)})")
    if not 0 < float(timeout) <= 10:
        raise ConnectorConfigError("the time-out must be between 0 and 10 seconds")
    try:
        RUNNERS[kind][0](config)
    except ValueError as exc:
        raise ConnectorConfigError(str(exc)) from exc


_definitions: dict[str, tuple[float, Any]] = {}


class Breaker:
    """Closed → open after `fail_max` failures in a row → half open after `reset_seconds`
    (one trial call; success closes it, failure opens it again)."""

    def __init__(self, fail_max: int, reset_seconds: float) -> None:
        self.fail_max, self.reset_seconds = max(1, fail_max), reset_seconds
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at < self.reset_seconds or self.trial_running:
            return False
        self.trial_running = True  # half open: this call is the trial
        return True

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.trial_running = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        self.trial_running = False
        if self.failures >= self.fail_max or self.opened_at is not None:
            self.opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None


_breakers: dict[str, tuple[tuple[int, int], Breaker]] = {}


def fetch_definition(name: str) -> Any:
    """The enabled DataConnector row named `name`, or None."""
    from ivr.models import DataConnector

    return DataConnector.objects.filter(name=name, enabled=True).first()


def _definition(name: str, fetch: Callable[[str], Any]) -> Any:
    cached = _definitions.get(name)
    if cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
        cached = (time.monotonic(), fetch(name))
        _definitions[name] = cached
    return cached[1]


def breaker_for(name: str, fail_max: int, reset_seconds: int) -> Breaker:
    settings_key = (fail_max, reset_seconds)
    found = _breakers.get(name)
    if found is None or found[0] != settings_key:
        breaker = Breaker(fail_max, reset_seconds)
        _breakers[name] = (settings_key, breaker)
        return breaker
    return found[1]


def lookup(
    name: str, params: Mapping[str, Any], fetch: Callable[[str], Any] = fetch_definition
) -> dict[str, Any]:
    """Run connector `name`; {} when nothing was found; ConnectorError on any failure.
    `fetch` reads the definition (icm passes one that runs on its database workers)."""
    connector = _definition(name, fetch)
    if connector is None:
        raise ConnectorError(f"no enabled connector {name!r}")
    _check, runner = RUNNERS[connector.kind]
    breaker = breaker_for(name, connector.failure_threshold, connector.reset_seconds)
    if not breaker.allow():
        log.warning("connector %s: circuit open, failing fast", name)
        raise ConnectorError(f"connector {name!r} circuit is open")
    started = time.monotonic()
    try:
        result = runner(connector.config, params, connector.timeout_seconds)
    except (FutureTimeout, requests.Timeout, psycopg.errors.QueryCanceled, TimeoutError) as exc:
        breaker.failed()
        log.warning("connector %s: timed out after %.1fs", name, connector.timeout_seconds)
        raise ConnectorError(f"connector {name!r} timed out") from exc
    except http.HostNotAllowed as exc:  # a destination it may not call (SSRF), say which
        breaker.failed()
        log.warning("connector %s: refused: %s", name, exc)
        raise ConnectorError(f"connector {name!r} refused: {exc}") from exc
    except BaseException as exc:  # gevent.Timeout from a caller's deadline counts too
        breaker.failed()
        if not isinstance(exc, Exception):
            raise
        log.warning("connector %s: failed: %s: %s", name, type(exc).__name__, exc)
        raise ConnectorError(f"connector {name!r} failed: {type(exc).__name__}") from exc
    breaker.succeeded()
    log.debug("connector %s: answered in %.1f ms", name, (time.monotonic() - started) * 1000)
    return result


def forget_cache() -> None:
    """Drop cached definitions and breakers (tests; after an admin edit)."""
    _definitions.clear()
    _breakers.clear()
