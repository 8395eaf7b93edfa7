"""Connectors by name (IVR-3): the DataConnector rows, each with its own circuit breaker.

`lookup(name, params)` runs one connector with its time-out; failures count towards its
breaker, and an open breaker fails at once (ConnectorError) until `reset_seconds` pass, so
a dead back-end cannot stall every caller. Definitions are re-read every CACHE_SECONDS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import psycopg
import pybreaker
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
    if not 0 < float(timeout) <= 30:
        raise ConnectorConfigError("the time-out must be between 0 and 30 seconds")
    try:
        RUNNERS[kind][0](config)
    except ValueError as exc:
        raise ConnectorConfigError(str(exc)) from exc


_definitions: dict[str, tuple[float, Any]] = {}
_breakers: dict[str, tuple[tuple[int, int], pybreaker.CircuitBreaker]] = {}


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


def breaker_for(name: str, fail_max: int, reset_seconds: int) -> pybreaker.CircuitBreaker:
    settings_key = (fail_max, reset_seconds)
    found = _breakers.get(name)
    if found is None or found[0] != settings_key:
        breaker = pybreaker.CircuitBreaker(
            fail_max=max(1, fail_max), reset_timeout=reset_seconds, name=name
        )
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
    started = time.monotonic()
    try:
        result = breaker.call(runner, connector.config, params, connector.timeout_seconds)
    except pybreaker.CircuitBreakerError as exc:
        log.warning("connector %s: circuit open, failing fast", name)
        raise ConnectorError(f"connector {name!r} circuit is open") from exc
    except (FutureTimeout, requests.Timeout, psycopg.errors.QueryCanceled) as exc:
        log.warning("connector %s: timed out after %.1fs", name, connector.timeout_seconds)
        raise ConnectorError(f"connector {name!r} timed out") from exc
    except Exception as exc:
        log.warning("connector %s: failed: %s: %s", name, type(exc).__name__, exc)
        raise ConnectorError(f"connector {name!r} failed: {type(exc).__name__}") from exc
    log.debug("connector %s: answered in %.1f ms", name, (time.monotonic() - started) * 1000)
    return result


def forget_cache() -> None:
    """Drop cached definitions and breakers (tests; after an admin edit)."""
    _definitions.clear()
    _breakers.clear()
