"""Calling windows in the contact's local time: other zones, over midnight, DST change days
in Europe/Paris and America/New_York."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.domain.windows import (
    CallingWindow,
    InvalidWindow,
    allowed,
    contact_zone,
    next_opening,
)

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
OFFICE = (CallingWindow(WEEKDAYS, ((time(10), time(12)), (time(14), time(20)))),)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_a_contact_in_another_zone_is_called_in_its_own_hours():
    at = utc(2025, 1, 6, 14, 30)  # Monday 15:30 in Paris, 09:30 in New York
    assert allowed(OFFICE, PARIS, at)
    assert not allowed(OFFICE, NEW_YORK, at)
    assert next_opening(OFFICE, NEW_YORK, at) == utc(2025, 1, 6, 15, 0)  # 10:00 EST
    assert next_opening(OFFICE, PARIS, at) == at  # open: now


def test_the_zone_falls_back_to_the_campaigns():
    assert contact_zone("America/New_York", "Europe/Paris") == NEW_YORK
    assert contact_zone(None, "Europe/Paris") == PARIS
    assert contact_zone("Mars/Olympus_Mons", "Europe/Paris") == PARIS


def test_lunch_break_and_weekend():
    assert next_opening(OFFICE, PARIS, utc(2025, 1, 6, 11, 30)) == utc(2025, 1, 6, 13, 0)
    friday_night = utc(2025, 1, 10, 19, 30)  # 20:30 in Paris
    assert next_opening(OFFICE, PARIS, friday_night) == utc(2025, 1, 13, 9, 0)  # Monday 10:00


def test_a_window_over_midnight_belongs_to_the_day_it_opens():
    friday_night = (CallingWindow(frozenset({4}), ((time(22), time(2)),)),)
    local = lambda *a: datetime(*a, tzinfo=PARIS)  # noqa: E731
    assert not allowed(friday_night, PARIS, local(2025, 1, 10, 21, 59))
    assert allowed(friday_night, PARIS, local(2025, 1, 10, 22, 0))
    assert allowed(friday_night, PARIS, local(2025, 1, 11, 1, 59))  # Saturday morning
    assert not allowed(friday_night, PARIS, local(2025, 1, 11, 2, 0))
    assert not allowed(friday_night, PARIS, local(2025, 1, 12, 1, 0))  # Sunday morning
    assert next_opening(friday_night, PARIS, local(2025, 1, 11, 3, 0)) == local(2025, 1, 17, 22, 0)


def test_paris_spring_forward():
    # 2025-03-30: 02:00 CET becomes 03:00 CEST
    nine = (CallingWindow(EVERY_DAY, ((time(9), time(17)),)),)
    assert next_opening(nine, PARIS, utc(2025, 3, 29, 17, 0)) == utc(2025, 3, 30, 7, 0)
    assert next_opening(nine, PARIS, utc(2025, 3, 28, 17, 0)) == utc(2025, 3, 29, 8, 0)
    # a window opening in the gap opens when the clocks jump past its start
    gap = (CallingWindow(EVERY_DAY, ((time(2, 30), time(5)),)),)
    assert next_opening(gap, PARIS, utc(2025, 3, 29, 23, 0)) == utc(2025, 3, 30, 1, 0)
    assert not allowed(gap, PARIS, utc(2025, 3, 30, 0, 59, 59))  # 01:59:59 CET
    # an hour shorter: 17:00 CEST is 15:00 UTC
    assert not allowed(nine, PARIS, utc(2025, 3, 30, 15, 0))
    assert allowed(nine, PARIS, utc(2025, 3, 30, 14, 59))


def test_paris_fall_back_repeats_an_hour():
    # 2025-10-26: 03:00 CEST becomes 02:00 CET — 02:00–02:30 is on the clock twice
    window = (CallingWindow(EVERY_DAY, ((time(2), time(2, 30)),)),)
    assert allowed(window, PARIS, utc(2025, 10, 26, 0, 10))  # 02:10 CEST
    assert not allowed(window, PARIS, utc(2025, 10, 26, 0, 40))  # 02:40 CEST
    assert next_opening(window, PARIS, utc(2025, 10, 26, 0, 40)) == utc(2025, 10, 26, 1, 0)
    assert allowed(window, PARIS, utc(2025, 10, 26, 1, 10))  # 02:10 CET
    assert next_opening(window, PARIS, utc(2025, 10, 26, 1, 40)) == utc(2025, 10, 27, 1, 0)


def test_new_york_spring_forward_and_fall_back():
    eight = (CallingWindow(EVERY_DAY, ((time(8), time(21)),)),)
    # 2025-03-09, 02:00 EST becomes 03:00 EDT
    assert next_opening(eight, NEW_YORK, utc(2025, 3, 8, 2, 0)) == utc(2025, 3, 8, 13, 0)
    assert next_opening(eight, NEW_YORK, utc(2025, 3, 9, 2, 0)) == utc(2025, 3, 9, 12, 0)
    # 2025-11-02, 02:00 EDT becomes 01:00 EST: 01:30–01:45 happens twice
    night = (CallingWindow(EVERY_DAY, ((time(1, 30), time(1, 45)),)),)
    assert next_opening(night, NEW_YORK, utc(2025, 11, 2, 4, 0)) == utc(2025, 11, 2, 5, 30)
    assert not allowed(night, NEW_YORK, utc(2025, 11, 2, 5, 50))  # 01:50 EDT
    assert next_opening(night, NEW_YORK, utc(2025, 11, 2, 5, 50)) == utc(2025, 11, 2, 6, 30)
    assert next_opening(eight, NEW_YORK, utc(2025, 11, 2, 2, 0)) == utc(2025, 11, 2, 13, 0)


def test_no_windows_never_allow_a_call():
    assert not allowed((), PARIS, utc(2025, 1, 6, 12, 0))
    assert next_opening((), PARIS, utc(2025, 1, 6, 12, 0)) is None


def test_invalid_windows_are_refused():
    with pytest.raises(InvalidWindow):
        CallingWindow(frozenset(), ((time(9), time(17)),))
    with pytest.raises(InvalidWindow):
        CallingWindow(frozenset({7}), ((time(9), time(17)),))
    with pytest.raises(InvalidWindow):
        CallingWindow(WEEKDAYS, ())
    with pytest.raises(InvalidWindow):
        CallingWindow(WEEKDAYS, ((time(9), time(10)),) * 5)
    with pytest.raises(InvalidWindow):
        allowed(OFFICE, PARIS, datetime(2025, 1, 6, 12, 0))


spans = st.tuples(st.times(), st.times()).map(
    lambda s: (s[0].replace(second=0, microsecond=0), s[1].replace(second=0, microsecond=0))
)
windows = st.lists(
    st.builds(
        CallingWindow,
        st.frozensets(st.integers(0, 6), min_size=1),
        st.lists(spans, min_size=1, max_size=4).map(tuple),
    ),
    min_size=1,
    max_size=2,
).map(tuple)
instants = st.datetimes(datetime(2025, 1, 1), datetime(2025, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
zones = st.sampled_from([PARIS, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")])


@settings(max_examples=60, deadline=None)
@given(windows, zones, instants)
def test_next_opening_is_allowed_and_nothing_before_it_is(ws, zone, at):
    opens = next_opening(ws, zone, at)
    assert opens is not None and opens >= at
    assert allowed(ws, zone, opens)
    # nothing allowed before it (checked each minute, and just before it)
    t = at
    while t < opens - timedelta(minutes=1):
        assert not allowed(ws, zone, t)
        t += timedelta(minutes=1)
    if opens > at:
        assert not allowed(ws, zone, opens - timedelta(seconds=1))
