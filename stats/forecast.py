"""The staffing calculator's forecast from history (issue 8): a day's offered calls and handle
time per interval, from the same weekday of the last K weeks (default 4).

Week w back (w = 1 the most recent) weighs K + 1 − w by default: 4, 3, 2, 1 for four weeks,
i.e. 40 %, 30 %, 20 %, 10 %. For each interval start (minute of the day):
- forecast calls = Σ weight·calls ÷ Σ weight, over the weeks that have that interval;
- forecast AHT = Σ weight·calls·AHT ÷ Σ weight·calls, over those weeks with an AHT and calls
  (call-weighted: a busy week's handle time counts for more than a quiet one's); None when
  no week has one.
A week without that interval is skipped and the weights of the others renormalised — so an
interval with no calls should be recorded as 0 calls, not left out. The result names the weeks
with no data at all for that weekday, and each interval says how many weeks it used.
Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MINUTES_PER_DAY = 24 * 60


class ForecastError(ValueError):
    """History or parameters the forecast cannot use; the message says which."""


@dataclass(frozen=True, slots=True)
class Observed:
    calls: float  # offered in the interval
    aht: float | None = None  # seconds, when known


@dataclass(frozen=True, slots=True)
class IntervalForecast:
    minute: int  # the interval's start, minutes after midnight
    calls: float
    aht: float | None  # seconds; None when no week used had one
    weeks_used: int


@dataclass(frozen=True, slots=True)
class Forecast:
    day: dt.date
    intervals: list[IntervalForecast]  # by start minute
    weeks_missing: list[dt.date]  # same weekday, no data at all: skipped


def default_weights(weeks: int) -> list[float]:
    """K, K − 1, …, 1: the most recent week first."""
    return [float(weeks - w) for w in range(weeks)]


def forecast_day(
    history: Mapping[tuple[dt.date, int], Observed | float],
    day: dt.date,
    weeks: int = 4,
    weights: Sequence[float] | None = None,
) -> Forecast:
    """`history` maps (date, interval start minute) to what was offered then (an `Observed`,
    or just the number of calls); `weights[0]` is the most recent week's."""
    chosen = list(weights) if weights is not None else default_weights(weeks)
    if weeks < 1 or len(chosen) != weeks or any(not w > 0 for w in chosen):
        raise ForecastError("weeks ≥ 1, with one positive weight per week")
    dates = [day - dt.timedelta(weeks=w) for w in range(1, weeks + 1)]
    weight_of = dict(zip(dates, chosen, strict=True))
    by_minute: dict[int, list[tuple[float, Observed]]] = {}
    seen: set[dt.date] = set()
    for (date, minute), value in history.items():
        if date not in weight_of:
            continue
        observed = value if isinstance(value, Observed) else Observed(float(value))
        _check(date, minute, observed)
        seen.add(date)
        by_minute.setdefault(minute, []).append((weight_of[date], observed))
    return Forecast(
        day,
        [_interval(m, rows) for m, rows in sorted(by_minute.items())],
        [d for d in dates if d not in seen],
    )


def _check(date: dt.date, minute: int, observed: Observed) -> None:
    if not 0 <= minute < MINUTES_PER_DAY:
        raise ForecastError(f"{date} {minute}: an interval starts 0..1439 minutes after midnight")
    if observed.calls < 0 or (observed.aht is not None and observed.aht < 0):
        raise ForecastError(f"{date} {minute}: calls and handle time ≥ 0")


def _interval(minute: int, rows: list[tuple[float, Observed]]) -> IntervalForecast:
    total = sum(w for w, _ in rows)
    calls = sum(w * o.calls for w, o in rows) / total
    load = handled = 0.0
    for w, o in rows:
        if o.aht is not None and o.calls > 0:
            load += w * o.calls
            handled += w * o.calls * o.aht
    aht = handled / load if load else None
    return IntervalForecast(minute, calls, aht, len(rows))
