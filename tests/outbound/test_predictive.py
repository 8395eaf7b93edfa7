"""How many calls to place: the modes, the predictive ratio's reaction to abandons, and the
acceptance run — 20 agents for a simulated hour, abandons ≤ 3 % and occupancy above
progressive's on the same list."""

import time
from dataclasses import replace

import pytest

from outbound.domain.observations import RollingWindow, WindowStats
from outbound.domain.predictive import (
    DialMode,
    DialSettings,
    Floor,
    abandon_target,
    calls_to_place,
)
from outbound.domain.retry import RetryPolicy
from outbound.domain.simulation import SimulationConfig, contact_list, simulate

SETTINGS = DialSettings()


def window(answered=100, abandoned=0, attempts=290):
    return WindowStats(
        attempts=attempts,
        answered=answered,
        abandoned=abandoned,
        time_to_answer=12.0,
        residual_time_to_answer=7.0,
        ringing_answer_share=0.26,
        handle_time=165.0,
        total_answered=answered,
        total_abandoned=abandoned,
    )


def test_preview_places_nothing_and_progressive_one_per_free_agent():
    floor = Floor(free_agents=5, busy_agents=15, ringing=2, waiting=1)
    assert calls_to_place(DialMode.PREVIEW, floor, window(), SETTINGS).calls == 0
    assert calls_to_place(DialMode.PROGRESSIVE, floor, window(), SETTINGS).calls == 2


def test_agentless_fills_the_concurrency_cap():
    settings = DialSettings(max_concurrent=30)
    floor = Floor(free_agents=0, ringing=12, connected=10)
    assert calls_to_place(DialMode.AGENTLESS, floor, window(), settings).calls == 8
    with pytest.raises(ValueError, match="max_concurrent"):
        calls_to_place(DialMode.AGENTLESS, floor, window(), SETTINGS)


def test_predictive_is_progressive_while_it_learns():
    floor = Floor(free_agents=4, busy_agents=16)
    learning = window(answered=SETTINGS.min_answered - 1, attempts=50)
    assert calls_to_place(DialMode.PREDICTIVE, floor, learning, SETTINGS).calls == 4


def test_predictive_dials_ahead_within_max_ratio():
    floor = Floor(free_agents=3, busy_agents=17)
    decision = calls_to_place(DialMode.PREDICTIVE, floor, window(), SETTINGS)
    assert decision.calls > 3
    assert 1 <= decision.ratio <= SETTINGS.max_ratio
    assert decision.predicted_abandon <= decision.target <= SETTINGS.abandon_cap
    # everyone busy: 20 agents may all be busy still when a call is answered, 200 will not
    busy = calls_to_place(DialMode.PREDICTIVE, Floor(0, busy_agents=20), window(), SETTINGS)
    assert busy.calls == 0
    many = calls_to_place(DialMode.PREDICTIVE, Floor(0, busy_agents=200), window(), SETTINGS)
    assert many.calls > 0 and many.predicted_abandon <= many.target


@pytest.mark.parametrize("free", [3, 6, 10])
def test_the_ratio_goes_down_when_abandons_rise(free):
    floor = Floor(free_agents=free, busy_agents=20 - free, ringing=1)
    decisions = [
        calls_to_place(DialMode.PREDICTIVE, floor, window(abandoned=a), SETTINGS)
        for a in (0, 2, 4, 8, 15)
    ]
    targets = [d.target for d in decisions]
    assert targets == sorted(targets, reverse=True) and targets[0] > 3 * targets[-1]
    ratios = [d.ratio for d in decisions]
    assert ratios == sorted(ratios, reverse=True) and ratios[0] > ratios[-1]
    calls = [d.calls for d in decisions]
    assert calls == sorted(calls, reverse=True)


def test_a_bad_window_reins_in_even_with_a_good_day_behind_it():
    good_day = window()
    bad_window = replace(good_day, abandoned=9, total_answered=2000, total_abandoned=20)
    assert abandon_target(bad_window, SETTINGS) < abandon_target(good_day, SETTINGS) / 4
    # and a bad day with a good window, too: the day is what a regulator measures
    bad_day = replace(good_day, total_answered=2000, total_abandoned=80)
    assert abandon_target(bad_day, SETTINGS) < abandon_target(good_day, SETTINGS) / 4


def test_the_rolling_window_keeps_the_last_answered_calls():
    w = RollingWindow(answered_calls=3)
    for ring, answered, abandoned in [
        (30, False, False),
        (10, True, True),
        (5, False, False),
        (12, True, False),
        (8, True, False),
        (30, False, False),
        (14, True, False),
    ]:
        w.record_attempt(ring, answered, abandoned)
    stats = w.stats()
    # the first three attempts (before the oldest of the last 3 answered) are gone
    assert (stats.attempts, stats.answered, stats.abandoned) == (4, 3, 0)
    assert stats.time_to_answer == pytest.approx((12 + 8 + 14) / 3)
    assert stats.ringing_answer_share == pytest.approx(34 / (12 + 8 + 30 + 14))
    assert (stats.total_answered, stats.total_abandoned) == (4, 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_predictive_beats_progressive_occupancy_with_abandons_under_the_cap(seed):
    contacts = contact_list(5000, seed)
    started = time.perf_counter()
    predictive = simulate(contacts, SimulationConfig(DialMode.PREDICTIVE, agents=20, seed=seed))
    elapsed = time.perf_counter() - started
    progressive = simulate(contacts, SimulationConfig(DialMode.PROGRESSIVE, agents=20, seed=seed))
    assert predictive.abandon_rate <= 0.03
    assert predictive.answered > 300  # enough for the rate to mean something
    assert predictive.occupancy > progressive.occupancy
    assert progressive.abandoned == 0
    assert elapsed < 5


def test_the_simulation_is_deterministic_and_follows_the_retry_rules():
    contacts = contact_list(800, 4)
    policy = RetryPolicy(max_attempts=3)
    config = SimulationConfig(
        DialMode.PREDICTIVE, agents=10, seed=4, retry=policy, duration=4 * 3600
    )
    report = simulate(contacts, config)
    assert report == simulate(contacts, config)
    by_number: dict[str, list] = {}
    for attempt in report.log:
        by_number.setdefault(attempt.number, []).append(attempt)
    assert max(len(a) for a in by_number.values()) == 3
    for attempts in by_number.values():
        assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))
        for before, after in zip(attempts, attempts[1:], strict=False):
            assert before.result not in ("answered", "invalid", "dnc")
            assert after.at - before.at >= policy.delay(before.result)
    assert report.attempts_per_contact > 1
