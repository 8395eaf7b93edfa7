"""Calling windows (issue 9): when a contact may be called, in the contact's local time.

A campaign has calling windows: each is a set of weekdays and up to MAX_SPANS (start, end)
local times. A span whose end is not after its start runs over midnight and ends on the
next day (start == end: 24 hours); its weekday is the day it opens. The local time is the
contact's IANA zone, or the campaign's when the contact has none (or an unknown one).

Semantics are the wall clock's: an instant is allowed when the contact's clock shows a time
inside a span. So on DST change days a span opening in the spring-forward gap opens when the
clocks jump past its start, and in the autumn's repeated hour a span may open (or end) twice.
No windows at all means never: a campaign must say when it may call.
Pure: instants are aware datetimes given by the caller; the ones returned are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_SPANS = 4
_HORIZON_DAYS = 9  # a week, the span that runs over midnight, and the day already begun
_SAMPLE = timedelta(hours=6)  # zones never change offset twice within six hours


class InvalidWindow(ValueError):
    """A calling window that cannot be followed; the message says what to correct."""


@dataclass(frozen=True, slots=True)
class CallingWindow:
    weekdays: frozenset[int]  # the days the spans open, 0 = Monday
    spans: tuple[tuple[time, time], ...]  # local (start, end)

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise InvalidWindow("weekdays are a non-empty set of 0 (Monday) … 6 (Sunday)")
        if not 1 <= len(self.spans) <= MAX_SPANS:
            raise InvalidWindow(f"a calling window has 1 to {MAX_SPANS} spans")
        if any(t.tzinfo is not None for span in self.spans for t in span):
            raise InvalidWindow("span times are local: no time zone on them")


def contact_zone(contact: str | None, campaign: str) -> ZoneInfo:
    """The contact's zone, or the campaign's when the contact has none we know."""
    if contact:
        try:
            return ZoneInfo(contact)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(campaign)


def _in_span(start: time, end: time, weekday: int, t: time, days: frozenset[int]) -> bool:
    if start < end:
        return weekday in days and start <= t < end
    # over midnight: the evening part on an opening day, the morning part on the day after
    return (weekday in days and t >= start) or ((weekday - 1) % 7 in days and t < end)


def allowed(windows: Sequence[CallingWindow], zone: ZoneInfo, instant: datetime) -> bool:
    """May the contact be called at `instant` (aware)?"""
    local = _aware(instant).astimezone(zone)
    t, weekday = local.time().replace(tzinfo=None), local.weekday()
    return any(
        _in_span(start, end, weekday, t, w.weekdays) for w in windows for start, end in w.spans
    )


def next_opening(
    windows: Sequence[CallingWindow], zone: ZoneInfo, instant: datetime
) -> datetime | None:
    """The first allowed instant at or after `instant` (itself when it is allowed); None when
    the windows never allow a call."""
    now = _aware(instant).astimezone(UTC)
    if allowed(windows, zone, now):
        return now
    end = now + timedelta(days=_HORIZON_DAYS)
    candidates = sorted(
        c for c in (*_span_starts(windows, zone, now), *_transitions(zone, now, end)) if c >= now
    )
    return next((c for c in candidates if allowed(windows, zone, c)), None)


def _span_starts(
    windows: Sequence[CallingWindow], zone: ZoneInfo, now: datetime
) -> Iterator[datetime]:
    """Where the wall clock reaches a span's start: both passes of a repeated hour (fold 0
    and 1); a start in a spring-forward gap is covered by the transition itself."""
    first: date = now.astimezone(zone).date() - timedelta(days=1)
    for offset in range(_HORIZON_DAYS + 1):
        day = first + timedelta(days=offset)
        for w in windows:
            if day.weekday() not in w.weekdays:
                continue
            for start, _ in w.spans:
                for fold in (0, 1):
                    local = datetime.combine(day, start, zone).replace(fold=fold)
                    yield local.astimezone(UTC)


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """The instants in [start, end) where the zone's offset changes (to the second)."""
    lo = start
    while lo < end:
        hi = lo + _SAMPLE
        if lo.astimezone(zone).utcoffset() != hi.astimezone(zone).utcoffset():
            yield _bisect_transition(zone, int(lo.timestamp()), int(hi.timestamp()) + 1)
        lo = hi


def _bisect_transition(zone: ZoneInfo, lo: int, hi: int) -> datetime:
    before = datetime.fromtimestamp(lo, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise InvalidWindow("instants must be aware datetimes")
    return instant
