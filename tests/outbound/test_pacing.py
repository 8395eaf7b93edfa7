"""Pacing on a virtual clock: the rate achieved over a minute, and concurrency caps never
exceeded."""

import random

import pytest

from outbound.domain.pacing import ConcurrencyCap, GatewayPacing, Pacer, PacingExceeded, TokenBucket

MINUTE = 60.0


def calls_in_a_minute_polled(pacer: Pacer, tick: float) -> list[float]:
    """A driver that looks every `tick` seconds and dials all it may."""
    starts, i = [], 0
    while (now := i * tick) < MINUTE:
        while pacer.may_dial("gw", now):
            pacer.started("gw", now)
            pacer.ended("gw")
            starts.append(now)
        i += 1
    return starts


def calls_in_a_minute_sleeping(pacer: Pacer, late: random.Random) -> list[float]:
    """A driver that sleeps until next_dial_at and wakes up to 3 ms late."""
    starts, now = [], 0.0
    while True:
        due = pacer.next_dial_at("gw", now)
        assert due is not None
        now = due + late.uniform(0, 0.003)
        if now >= MINUTE:
            return starts
        pacer.started("gw", now)
        pacer.ended("gw")
        starts.append(now)


def achieved(starts: list[float]) -> float:
    return (len(starts) - 1) / (starts[-1] - starts[0])


@pytest.mark.parametrize("rate", [10, 50])
@pytest.mark.parametrize("tick", [0.001, 0.005])
def test_the_rate_is_held_to_well_under_one_percent_polled(rate, tick):
    starts = calls_in_a_minute_polled(Pacer(bucket=TokenBucket(rate)), tick)
    assert achieved(starts) == pytest.approx(rate, rel=0.002)
    assert len(starts) == pytest.approx(rate * MINUTE, rel=0.01)


@pytest.mark.parametrize("rate", [10, 50])
def test_the_rate_is_held_by_a_driver_that_wakes_late(rate):
    starts = calls_in_a_minute_sleeping(Pacer(bucket=TokenBucket(rate)), random.Random(7))
    assert achieved(starts) == pytest.approx(rate, rel=0.002)


@pytest.mark.parametrize("rate", [10, 50])
def test_burst_one_never_puts_two_calls_at_once(rate):
    starts = calls_in_a_minute_polled(Pacer(bucket=TokenBucket(rate)), 0.001)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.5 / rate - 1e-9
    # and no one-second span holds more than rate + 1 calls
    assert max(sum(1 for s in starts if t <= s < t + 1) for t in starts) <= rate + 1


def test_a_burst_lets_calls_out_at_once_after_a_pause():
    bucket = TokenBucket(10, burst=3)
    pacer = Pacer(bucket=bucket)
    for _ in range(3):
        pacer.started("gw", 5.0)
    assert not pacer.may_dial("gw", 5.0)
    assert pacer.next_dial_at("gw", 5.0) == pytest.approx(5.1)


def test_concurrency_caps_are_never_exceeded():
    shared = GatewayPacing(cap=ConcurrencyCap(10))  # gw-a, shared with another campaign
    gateways = {"gw-a": shared, "gw-b": GatewayPacing(TokenBucket(20), ConcurrencyCap(25))}
    pacer = Pacer(bucket=TokenBucket(50), cap=ConcurrencyCap(30), gateways=gateways)
    other = Pacer(gateways={"gw-a": shared})
    rng = random.Random(3)
    ends: list[tuple[float, Pacer, str]] = []
    refused = 0
    for i in range(60_000):  # a minute, a millisecond at a time
        now = i / 1000
        for end in [e for e in ends if e[0] <= now]:
            ends.remove(end)
            end[1].ended(end[2])
        for p, gateway in ((pacer, rng.choice(["gw-a", "gw-b", "gw-c"])), (other, "gw-a")):
            if p.may_dial(gateway, now):
                p.started(gateway, now)
                ends.append((now + rng.uniform(0.2, 3.0), p, gateway))
            else:
                refused += 1
        assert pacer.active <= 30
        assert shared.cap is not None and shared.cap.active <= 10
        assert pacer.in_progress.get("gw-b", 0) <= 25
    assert refused > 0 and shared.cap.active + other.active >= 0


def test_starting_past_a_cap_or_ending_what_never_started_raises():
    pacer = Pacer(cap=ConcurrencyCap(1))
    pacer.started("gw", 0.0)
    assert pacer.next_dial_at("gw", 0.0) is None
    with pytest.raises(PacingExceeded):
        pacer.started("gw", 0.0)
    pacer.ended("gw")
    with pytest.raises(PacingExceeded):
        pacer.ended("gw")
    strict = Pacer(bucket=TokenBucket(1))
    strict.started("gw", 0.0)
    with pytest.raises(PacingExceeded):
        strict.started("gw", 0.4)
