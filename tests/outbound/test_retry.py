"""Retry rules: attempt times and counts, results never retried, call-backs."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from outbound.domain.retry import (
    Done,
    DoneReason,
    InvalidRetry,
    Result,
    RetryAt,
    RetryPolicy,
    next_step,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3)


def test_busy_no_answer_busy_then_done_at_max_attempts():
    # attempt 1 at 09:00, busy after 5 s: again 300 s later
    step = next_step(POLICY, 1, Result.BUSY, T0 + timedelta(seconds=5))
    assert step == RetryAt(T0 + timedelta(seconds=305))
    # attempt 2 at 09:05:05, no answer after 30 s: again 1800 s later
    ended = step.at + timedelta(seconds=30)
    step = next_step(POLICY, 2, Result.NO_ANSWER, ended)
    assert step == RetryAt(T0 + timedelta(seconds=305 + 30 + 1800))
    # attempt 3 busy: the third and last attempt
    assert next_step(POLICY, 3, Result.BUSY, step.at + timedelta(seconds=4)) == Done(
        DoneReason.MAX_ATTEMPTS
    )


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_invalid_is_never_retried(attempts):
    assert next_step(POLICY, attempts, Result.INVALID, T0) == Done(DoneReason.NOT_RETRIED)


@pytest.mark.parametrize(
    ("result", "delay"),
    [
        (Result.BUSY, 300),
        (Result.NO_ANSWER, 1800),
        (Result.FAILED, 600),
        (Result.MACHINE, 3600),
        (Result.ABANDONED, 600),
    ],
)
def test_default_delays(result, delay):
    assert next_step(RetryPolicy(), 1, result, T0) == RetryAt(T0 + timedelta(seconds=delay))


@pytest.mark.parametrize(("result", "reason"), [("answered", "answered"), ("dnc", "dnc")])
def test_answered_and_dnc_end_the_contact(result, reason):
    assert next_step(POLICY, 1, Result(result), T0) == Done(DoneReason(reason))


def test_a_call_back_is_due_at_its_time_whatever_the_delays():
    at = T0 + timedelta(days=1, hours=5)  # tomorrow 14:00
    assert next_step(POLICY, 1, Result.CALLBACK, T0, callback_at=at) == RetryAt(at)
    # sooner than any delay in the table, too
    soon = T0 + timedelta(seconds=60)
    assert next_step(POLICY, 2, Result.CALLBACK, T0, callback_at=soon) == RetryAt(soon)


def test_a_call_back_in_the_past_is_due_now_and_still_counts_an_attempt():
    assert next_step(POLICY, 1, Result.CALLBACK, T0, T0 - timedelta(hours=1)) == RetryAt(T0)
    at = T0 + timedelta(hours=1)
    assert next_step(POLICY, 3, Result.CALLBACK, T0, at) == Done(DoneReason.MAX_ATTEMPTS)


def test_a_call_back_needs_its_time():
    with pytest.raises(InvalidRetry):
        next_step(POLICY, 1, Result.CALLBACK, T0)


def test_delays_are_elapsed_seconds_across_a_dst_change():
    paris = ZoneInfo("Europe/Paris")
    ended = datetime(2025, 3, 30, 1, 45, tzinfo=paris)  # 15 min before the clocks jump
    step = next_step(POLICY, 1, Result.NO_ANSWER, ended)
    assert isinstance(step, RetryAt)
    assert step.at - ended == timedelta(seconds=1800)
    assert step.at.astimezone(paris).hour == 3  # 02:15 does not exist: 03:15 CEST


def test_naive_instants_and_nonsense_are_refused():
    with pytest.raises(InvalidRetry):
        next_step(POLICY, 1, Result.BUSY, datetime(2025, 1, 6, 9, 0))
    with pytest.raises(InvalidRetry):
        next_step(POLICY, 0, Result.BUSY, T0)
    with pytest.raises(InvalidRetry):
        RetryPolicy(max_attempts=0)
    with pytest.raises(InvalidRetry):
        RetryPolicy(busy=-1)


def test_a_skipped_preview_comes_back_after_its_delay_and_never_uses_up_the_contact():
    # skipped at the last attempt number (skips are left out of attempts_made by the caller)
    policy = RetryPolicy(max_attempts=1, skipped=120)
    assert next_step(policy, 0, Result.SKIPPED, T0) == RetryAt(T0 + timedelta(seconds=120))
    assert next_step(policy, 1, Result.SKIPPED, T0) == RetryAt(T0 + timedelta(seconds=120))
    never = RetryPolicy(skipped=None)
    assert next_step(never, 0, Result.SKIPPED, T0) == Done(DoneReason.NOT_RETRIED)
