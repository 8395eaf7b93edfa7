"""Erlang A (M/M/N+M) against Erlang C in the limit of endless patience, Mandelbaum & Zeltyn's
closed forms, and a discrete-event simulation of the queue."""

import heapq
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stats import erlang
from stats.erlang import StaffingError
from stats.erlang_a import agents_needed, staffing_for

# the published Erlang C example of test_erlang.py: 200 calls an hour, 180 s, 10 Erlangs
CALLS, AHT, HOUR = 200, 180, 3600


@pytest.mark.parametrize("agents", [11, 12, 13, 14, 16, 20])
def test_endless_patience_is_erlang_c(agents):
    c = erlang.staffing_for(agents, CALLS, AHT, HOUR, threshold=20)
    a = staffing_for(agents, CALLS, AHT, HOUR, threshold=20, patience=1e7)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-3)
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=1e-3)
    assert a.asa == pytest.approx(c.asa, rel=1e-3)
    assert a.occupancy == pytest.approx(c.occupancy, abs=1e-3)
    assert a.abandon_probability < 1e-4


def test_endless_patience_needs_erlang_c_s_14_agents():
    need = agents_needed(CALLS, AHT, HOUR, target=0.8, threshold=20, patience=1e6)
    assert need.agents == 14
    assert need.service_level == pytest.approx(0.8884, abs=0.0005)


def _lower_incomplete_gamma(x, y, steps=20_000):
    """∫₀^y t^(x−1) e^(−t) dt by Simpson's rule (x > 1: the integrand is smooth)."""
    h = y / steps
    f = [(i * h) ** (x - 1) * math.exp(-i * h) for i in range(steps + 1)]
    return h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))


@pytest.mark.parametrize(("agents", "patience"), [(10, 120), (8, 120), (12, 300), (30, 90)])
def test_mandelbaum_zeltyn_closed_forms(agents, patience):
    # P(W > 0) = A(nμ/θ, λ/θ)·B / (1 + (A − 1)·B) with A(x, y) = x·e^y·y^(−x)·γ(x, y), and
    # P(Ab | W > 0) = 1 / (ρ·A) + 1 − 1 / ρ, ρ = λ / (nμ) ("The Palm/Erlang-A queue", §4)
    calls = 250 * agents / 10
    lam, mu, theta = calls / HOUR, 1 / AHT, 1 / patience
    x, y = agents * mu / theta, lam / theta
    big_a = x * math.exp(y) * y**-x * _lower_incomplete_gamma(x, y)
    b = erlang.erlang_b(agents, lam / mu)
    rho = lam / (agents * mu)
    s = staffing_for(agents, calls, AHT, HOUR, threshold=20, patience=patience)
    assert s.wait_probability == pytest.approx(big_a * b / (1 + (big_a - 1) * b), rel=1e-9)
    assert s.abandon_probability / s.wait_probability == pytest.approx(
        1 / (rho * big_a) + 1 - 1 / rho, rel=1e-9
    )


def _simulate(agents, calls, aht, patience, threshold, n_calls, seed, warmup=2_000):
    """M/M/N+M first come, first served: a caller takes the agent who is free first, unless
    that is after its patience has run out (then it hangs up and takes no one)."""
    rng = random.Random(seed)
    free = [0.0] * agents  # a heap of the times each agent is next free
    now = 0.0
    waited = abandoned = within = answered = 0
    total_wait = 0.0
    for i in range(warmup + n_calls):
        now += rng.expovariate(calls / HOUR)
        start = max(now, free[0])
        gave_up = start - now > rng.expovariate(1 / patience)
        if not gave_up:
            heapq.heapreplace(free, start + rng.expovariate(1 / aht))
        if i < warmup:
            continue
        waited += start > now
        if gave_up:
            abandoned += 1
            continue
        answered += 1
        total_wait += start - now
        within += start - now <= threshold
    return waited / n_calls, abandoned / n_calls, within / n_calls, total_wait / answered


@pytest.mark.parametrize(("agents", "patience"), [(10, 120), (8, 120), (12, 300)])
def test_a_simulation_agrees(agents, patience):
    # 300,000 calls a run; over twelve seeds the run-to-run standard deviations at 10 agents
    # were 0.0031 (P(wait)), 0.0015 (P(abandon)), 0.0032 (service level), 1.2 % (ASA): the
    # tolerances are about four of them
    p_wait, p_abandon, sl, asa = _simulate(agents, CALLS, AHT, patience, 20, 300_000, seed=8)
    s = staffing_for(agents, CALLS, AHT, HOUR, threshold=20, patience=patience)
    assert p_wait == pytest.approx(s.wait_probability, abs=0.012)
    assert p_abandon == pytest.approx(s.abandon_probability, abs=0.006)
    assert sl == pytest.approx(s.service_level, abs=0.012)
    assert asa == pytest.approx(s.asa, rel=0.05)


def test_the_figures_for_10_erlangs_on_10_agents_with_two_minutes_patience():
    s = staffing_for(10, CALLS, AHT, HOUR, threshold=20, patience=120)
    assert (round(s.wait_probability, 4), round(s.abandon_probability, 4)) == (0.4969, 0.1375)
    assert (round(s.service_level, 4), round(s.asa, 2)) == (0.6399, 14.55)
    # occupancy is summed over the states; Little's law gives it from P(abandon) too
    assert s.occupancy == pytest.approx(10 * (1 - s.abandon_probability) / 10, rel=1e-12)
    # the service level counts abandoned calls as misses: answered within ≤ answered
    assert s.service_level < 1 - s.abandon_probability


def test_fewer_agents_than_erlangs_is_stable_and_no_agents_answer_no_one():
    s = staffing_for(8, CALLS, AHT, HOUR, threshold=20, patience=120)
    assert 0 < s.service_level < 0.8 and s.abandon_probability > 0.2 and s.occupancy < 1
    nobody = staffing_for(0, CALLS, AHT, HOUR, threshold=20, patience=120)
    assert (nobody.service_level, nobody.abandon_probability) == (0.0, 1.0)
    assert math.isinf(nobody.asa)
    assert staffing_for(3, 0, AHT, HOUR, 20, 120).service_level == 1.0


def test_threshold_zero_is_answered_at_once():
    s = staffing_for(11, CALLS, AHT, HOUR, threshold=0, patience=120)
    assert s.service_level == pytest.approx(1 - s.wait_probability)


def test_big_centres_stay_finite():
    # 1,000 Erlangs: Erlang B underflows a float here, its log does not
    s = staffing_for(1100, 20_000, AHT, HOUR, threshold=20, patience=120)
    assert 0.99 < s.service_level <= 1 and 0 <= s.abandon_probability < 1e-3
    assert math.isfinite(s.asa)


def _linear(calls, target, patience, **caps):
    n = 1
    while True:
        s = staffing_for(n, calls, AHT, HOUR, 20, patience)
        if (
            s.service_level >= target
            and s.occupancy <= caps.get("max_occupancy", 1)
            and s.abandon_probability <= caps.get("max_abandon", 1)
        ):
            return n
        n += 1


@pytest.mark.parametrize(
    ("calls", "target", "patience", "caps"),
    [
        (200, 0.8, 120, {}),
        (200, 0.9, 60, {}),
        (20_000, 0.8, 120, {}),
        (20_000, 0.8, 120, {"max_abandon": 0.02}),
        (500, 0.8, 300, {"max_occupancy": 0.7}),
        (50, 0.95, 30, {}),
    ],
)
def test_agents_needed_is_the_fewest(calls, target, patience, caps):
    need = agents_needed(calls, AHT, HOUR, target, 20, patience, **caps)
    assert need.agents == _linear(calls, target, patience, **caps)


def test_abandonment_lowers_the_staff_and_caps_raise_it():
    # 10 Erlangs, two minutes' patience: 12 agents where Erlang C needs 14
    need = agents_needed(CALLS, AHT, HOUR, 0.8, 20, patience=120)
    assert (need.agents, round(need.service_level, 3)) == (12, 0.826)
    assert round(need.abandon_probability, 3) == 0.062
    # at most 2 % hanging up: 14 agents still lose 2.28 %, 15 lose 1.29 %
    capped = agents_needed(CALLS, AHT, HOUR, 0.8, 20, patience=120, max_abandon=0.02)
    assert (capped.agents, round(capped.abandon_probability, 4)) == (15, 0.0129)
    assert round(staffing_for(14, CALLS, AHT, HOUR, 20, 120).abandon_probability, 4) == 0.0228
    shrunk = agents_needed(CALLS, AHT, HOUR, 0.8, 20, patience=120, shrinkage=0.3)
    assert (shrunk.agents, shrunk.scheduled) == (12, 18)
    assert agents_needed(0, AHT, HOUR, 0.8, 20, patience=120).agents == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": 80}, "between 0 and 1"),
        ({"patience": 0}, "patience"),
        ({"patience": math.inf}, "patience"),
        ({"max_abandon": 0}, "abandonment cap"),
        ({"max_occupancy": 0}, "occupancy cap"),
        ({"aht": math.nan}, "handle time"),
    ],
)
def test_bad_input(kwargs, message):
    args = {
        "calls": CALLS,
        "aht": AHT,
        "interval": HOUR,
        "target": 0.8,
        "threshold": 20,
        "patience": 120,
    } | kwargs
    with pytest.raises(StaffingError, match=message):
        agents_needed(**args)


def test_patience_beyond_reason_with_too_few_agents_is_refused_not_computed_for_ever():
    with pytest.raises(StaffingError, match="queue grows too long"):
        staffing_for(5, CALLS, AHT, HOUR, threshold=20, patience=1e12)


@settings(max_examples=60, deadline=None)
@given(
    calls=st.floats(1, 4_000),
    aht=st.floats(20, 900),
    patience=st.floats(3, 30_000),
    threshold=st.floats(0, 180),
    around=st.floats(0.6, 1.3),
)
def test_more_agents_never_do_worse(calls, aht, patience, threshold, around):
    # agents_needed's bisection rests on this; 1e-9 allows for the rounding of sums over up
    # to some 10⁵ queue states
    a = calls * aht / HOUR
    first = math.floor(around * a)
    rows = [
        staffing_for(n, calls, aht, HOUR, threshold, patience) for n in range(first, first + 25)
    ]
    for fewer, more in zip(rows, rows[1:], strict=False):
        assert more.service_level >= fewer.service_level - 1e-9
        assert more.abandon_probability <= fewer.abandon_probability + 1e-9
        assert more.occupancy <= fewer.occupancy + 1e-9 or fewer.agents == 0
        assert 0 <= more.service_level <= 1 - more.abandon_probability + 1e-9
        # Little's law: the agents busy carry the calls not abandoned
        assert more.occupancy == pytest.approx(a * (1 - more.abandon_probability) / more.agents)


def test_a_vanishing_threshold_is_a_zero_threshold():
    """θ·T underflowing to 0 (a threshold of 5e-324 s, found by hypothesis) must behave as T = 0."""
    tiny = staffing_for(1, 1.0, 20.0, HOUR, 5e-324, 3.0)
    zero = staffing_for(1, 1.0, 20.0, HOUR, 0.0, 3.0)
    assert tiny.service_level == pytest.approx(zero.service_level)
