"""Retry rules (issue 9): after an attempt's result, is the contact done, or when is the next
attempt due?

`attempts_made` counts every attempt placed for the contact, the one that just ended
included. Results:
- `answered` (a person took the call and reached an agent or the message) and `dnc` (the
  person asked never to be called again) end the contact;
- `callback`: an agent's disposition "call back at …": the next attempt is due at that time
  (or now, if it is already past), whatever the delay table says. It still counts as an
  attempt, and `max_attempts` still ends the contact, so call-backs cannot loop for ever —
  the desktop should warn an agent who sets a call-back on the last attempt;
- `busy`, `no_answer`, `failed`, `machine`, `abandoned`, `invalid`: the policy's delay for
  that result; None never retries it (default: `invalid`);
- `unknown`: the attempt was placed by an icm that died, and how it went was lost with it
  (issue 21): it may have rung, so by default it is never retried (the policy's `unknown`
  delay retries it);
- `skipped`: a preview agent passed the contact without dialing it: offered again after the
  policy's `skipped` delay. Nothing was dialed, so it never uses up the contact: the caller
  leaves skips out of `attempts_made`.
The delay is from the end of the attempt (`now`); calling windows are applied afterwards by
the scheduler (windows.next_opening), so a retry that falls outside them moves later.
Pure: instants are aware datetimes given by the caller; the ones returned are in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Result(StrEnum):
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    INVALID = "invalid"
    FAILED = "failed"  # the network or the gateway refused the call (not the number)
    MACHINE = "machine"  # an answering machine
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # answered, no agent free within the grace time
    CALLBACK = "callback"
    DNC = "dnc"
    SKIPPED = "skipped"  # a preview agent passed it: nothing was dialed
    UNKNOWN = "unknown"  # placed by an icm that died; how it went was lost with it


# the result of an attempt whose leg ended unanswered, by the switch's hang-up cause
# (anything else: failed)
CAUSES = {
    "USER_BUSY": Result.BUSY.value,
    "NO_ANSWER": Result.NO_ANSWER.value,
    "NO_USER_RESPONSE": Result.NO_ANSWER.value,
    "ALLOTTED_TIMEOUT": Result.NO_ANSWER.value,
    "ORIGINATOR_CANCEL": Result.NO_ANSWER.value,
    "UNALLOCATED_NUMBER": Result.INVALID.value,
    "INVALID_NUMBER_FORMAT": Result.INVALID.value,
    "NO_ROUTE_DESTINATION": Result.INVALID.value,
    "NUMBER_CHANGED": Result.INVALID.value,
}


class DoneReason(StrEnum):
    ANSWERED = "answered"
    DNC = "dnc"
    NOT_RETRIED = "not_retried"  # the policy never retries this result
    MAX_ATTEMPTS = "max_attempts"


class InvalidRetry(ValueError):
    """A policy or a call to next_step that makes no sense; the message says why."""


_FINAL = {Result.ANSWERED: DoneReason.ANSWERED, Result.DNC: DoneReason.DNC}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `max_attempts` attempts per contact; seconds to wait after each result
    (None: never retry it)."""

    max_attempts: int = 5
    busy: float | None = 300
    no_answer: float | None = 1800
    failed: float | None = 600
    machine: float | None = 3600
    invalid: float | None = None
    abandoned: float | None = 600
    skipped: float | None = 600
    unknown: float | None = None  # it may have rung: not dialled again unless set (issue 21)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidRetry("max_attempts is at least 1")
        for result in _DELAYED:
            delay = getattr(self, result.value)
            if delay is not None and delay < 0:
                raise InvalidRetry(f"the delay after {result} cannot be negative")

    def delay(self, result: Result) -> float | None:
        if result not in _DELAYED:
            raise InvalidRetry(f"{result} has no delay: it ends the contact or has its own time")
        value: float | None = getattr(self, result.value)
        return value


_DELAYED = (
    Result.BUSY,
    Result.NO_ANSWER,
    Result.FAILED,
    Result.MACHINE,
    Result.INVALID,
    Result.ABANDONED,
    Result.SKIPPED,
    Result.UNKNOWN,
)


@dataclass(frozen=True, slots=True)
class Done:
    reason: DoneReason


@dataclass(frozen=True, slots=True)
class RetryAt:
    at: datetime


def next_step(
    policy: RetryPolicy,
    attempts_made: int,
    result: Result,
    now: datetime,
    callback_at: datetime | None = None,
) -> Done | RetryAt:
    """What follows an attempt that ended `now` with `result`."""
    if now.tzinfo is None or (callback_at is not None and callback_at.tzinfo is None):
        raise InvalidRetry("instants must be aware datetimes")
    if result is Result.SKIPPED:
        delay = policy.delay(result)
        if delay is None:
            return Done(DoneReason.NOT_RETRIED)
        return RetryAt(now.astimezone(UTC) + timedelta(seconds=delay))
    if attempts_made < 1:
        raise InvalidRetry("next_step follows an attempt: attempts_made is at least 1")
    if result in _FINAL:
        return Done(_FINAL[result])
    if result is Result.CALLBACK:
        if callback_at is None:
            raise InvalidRetry("a call-back needs its time")
        if attempts_made >= policy.max_attempts:
            return Done(DoneReason.MAX_ATTEMPTS)
        return RetryAt(max(callback_at, now).astimezone(UTC))
    delay = policy.delay(result)
    if delay is None:
        return Done(DoneReason.NOT_RETRIED)
    if attempts_made >= policy.max_attempts:
        return Done(DoneReason.MAX_ATTEMPTS)
    # in UTC: adding to a local datetime would add wall-clock time across a DST change
    return RetryAt(now.astimezone(UTC) + timedelta(seconds=delay))
