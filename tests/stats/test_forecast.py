"""The forecast from history against hand-computed figures."""

import datetime as dt

import pytest

from stats.forecast import ForecastError, Observed, default_weights, forecast_day

MONDAY = dt.date(2025, 6, 30)
W1, W2, W3, W4 = (MONDAY - dt.timedelta(weeks=w) for w in (1, 2, 3, 4))
NINE, NINE_15 = 9 * 60, 9 * 60 + 15


def _by_minute(result):
    return {i.minute: i for i in result.intervals}


def test_four_weeks_weigh_4_3_2_1():
    assert default_weights(4) == [4, 3, 2, 1]
    history = {
        (W1, NINE): Observed(100, 200),
        (W2, NINE): Observed(80, 150),
        (W3, NINE): Observed(60),  # no handle time recorded
        (W4, NINE): Observed(40, 300),
        (W4 - dt.timedelta(weeks=1), NINE): Observed(1_000, 999),  # five weeks back: unused
        (MONDAY - dt.timedelta(days=1), NINE): Observed(1_000, 999),  # a Sunday: unused
        (MONDAY, NINE): Observed(1_000, 999),  # the day itself: unused
    }
    nine = _by_minute(forecast_day(history, MONDAY))[NINE]
    # (4·100 + 3·80 + 2·60 + 1·40) / 10 = 80
    assert nine.calls == pytest.approx(80)
    # weighted by weight × calls: (400·200 + 240·150 + 40·300) / (400 + 240 + 40) = 188.235…
    assert nine.aht == pytest.approx(128_000 / 680)
    assert nine.weeks_used == 4


def test_a_missing_week_is_skipped_and_named():
    history = {(W1, NINE): 100, (W2, NINE): 80, (W4, NINE): 40}  # bare call counts
    result = forecast_day(history, MONDAY)
    nine = _by_minute(result)[NINE]
    # (4·100 + 3·80 + 1·40) / (4 + 3 + 1) = 85
    assert (nine.calls, nine.aht, nine.weeks_used) == (85, None, 3)
    assert result.weeks_missing == [W3]


def test_an_interval_with_no_calls_counts_only_when_recorded():
    history = {
        (W1, NINE): Observed(10, 100),
        (W1, NINE_15): Observed(20, 240),
        (W2, NINE): Observed(30, 100),
        (W2, NINE_15): Observed(0),  # recorded, no calls: counts as 0
        (W3, NINE): Observed(30, 100),  # 09:15 not recorded at all: that week is skipped
    }
    result = forecast_day(history, MONDAY)
    quarter = _by_minute(result)[NINE_15]
    # (4·20 + 3·0) / (4 + 3) = 11.43; the handle time only from the week with calls
    assert quarter.calls == pytest.approx(80 / 7)
    assert (quarter.aht, quarter.weeks_used) == (240, 2)
    assert [i.minute for i in result.intervals] == [NINE, NINE_15]
    assert result.weeks_missing == [W4]


def test_chosen_weeks_and_weights():
    history = {(W1, NINE): 100, (W2, NINE): 50, (W3, NINE): 1_000}
    nine = _by_minute(forecast_day(history, MONDAY, weeks=2, weights=[1, 1]))[NINE]
    assert (nine.calls, nine.weeks_used) == (75, 2)
    empty = forecast_day({}, MONDAY, weeks=2)
    assert (empty.intervals, empty.weeks_missing) == ([], [W1, W2])


@pytest.mark.parametrize(
    ("history", "kwargs", "message"),
    [
        ({}, {"weeks": 0}, "weeks ≥ 1"),
        ({}, {"weeks": 2, "weights": [1]}, "one positive"),
        ({}, {"weights": [1, 0, 1, 1]}, "one positive"),
        ({(W1, 1440): 3}, {}, "0..1439"),
        ({(W1, NINE): -1}, {}, "calls and handle time"),
    ],
)
def test_bad_history_or_parameters(history, kwargs, message):
    with pytest.raises(ForecastError, match=message):
        forecast_day(history, MONDAY, **kwargs)
