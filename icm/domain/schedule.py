"""Opening hours (R-3): is a weekly schedule with holidays open at a given moment?"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class OpenInterval:
    weekday: int  # 0 = Monday
    opens: time
    closes: time


def is_open(
    intervals: Iterable[OpenInterval], holidays: Iterable[date], timezone: str, at: datetime
) -> bool:
    """True when `at` (aware) falls in an open interval, in the schedule's own time zone,
    on a day that is not a holiday."""
    local = at.astimezone(ZoneInfo(timezone))
    if local.date() in set(holidays):
        return False
    now = local.time()
    return any(i.weekday == local.weekday() and i.opens <= now < i.closes for i in intervals)
