"""What flows may ask during a run, for both front-ends: data-access connectors, schedules
from CallCenterDB, live ICM values (a callable the caller provides: icm reads its own
engine, the web process asks icm over the bus)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from icm.models import Schedule
from icm.schedules import schedule_open
from ivr.connectors.registry import fetch_definition, lookup


def schedule_open_named(name: str) -> bool:
    schedule = Schedule.objects.prefetch_related("rules").filter(name=name).first()
    if schedule is None:
        raise LookupError(f"no schedule named {name!r}")
    return schedule_open(schedule, datetime.now(tz=UTC))


class FlowServices:
    """ivr.engine.text.Services over CallCenterDB, the connectors and an ICM value source."""

    def __init__(
        self,
        icm_value: Callable[[str, str], float],
        run_db: Callable[..., Any] | None = None,
    ) -> None:
        self._icm_value = icm_value
        self.run_db = run_db or (lambda func, *args: func(*args))

    def lookup(self, connector: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return lookup(connector, params, fetch=lambda name: self.run_db(fetch_definition, name))

    def icm_value(self, metric: str, queue: str) -> float:
        return self._icm_value(metric, queue)

    def schedule_open(self, schedule: str) -> bool:
        return bool(self.run_db(schedule_open_named, schedule))
