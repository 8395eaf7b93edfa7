"""Call-backs nobody answers (issue 20 item 3): the retry rule of a call-back, the log of
its customer dials (`CallbackAttempt`), and what each dial's outcome does to the call-back.

icm reports every dial of a call-back's customer twice: `dialling` (attempt N started, on
the customer's leg) and then its outcome — `answered`, `no_answer`, `busy` or `failed`.
A call-back icm took is `ringing` in the database; nothing else dispatches it until an
outcome arrives, so two attempts never run at once. Each outcome is applied under the row's
lock and only to an attempt that has none yet (a report repeated by the outbox after a
restart changes nothing): an unanswered attempt makes the call-back pending again after the
rule's spacing, the last one ends it `unreachable`. A call-back whose outcome was lost (icm
restarted mid-dial) has its open attempt closed `failed` before it is due again, so the next
dispatch is the next attempt — one attempt is never dialled twice.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from agents.models import (
    CALLBACK_NUMBER_PATTERN,
    CallbackAttempt,
    CallbackRetryRule,
    ScheduledCallback,
)
from icm.models import Customer, CustomerNumber, Queue

log = logging.getLogger(__name__)

Status = ScheduledCallback.Status
Outcome = CallbackAttempt.Outcome
DIAL_OUTCOMES = frozenset(Outcome.values)
NO_ANSWER_CAUSES = frozenset(
    {
        "NO_ANSWER",
        "NO_USER_RESPONSE",
        "ORIGINATOR_CANCEL",
        "ALLOTTED_TIMEOUT",
        "RECOVERY_ON_TIMER_EXPIRE",
    }
)
BUSY_CAUSES = frozenset({"USER_BUSY", "CALL_REJECTED"})
LABELS = {
    Outcome.ANSWERED: "answered",
    Outcome.NO_ANSWER: "no answer",
    Outcome.BUSY: "busy",
    Outcome.FAILED: "failed",
}


@dataclass(frozen=True, slots=True)
class RetryRule:
    max_attempts: int
    spacing: timedelta
    ring_seconds: int


def default_rule() -> RetryRule:
    return RetryRule(
        max(1, int(settings.IPBX_CALLBACK_MAX_ATTEMPTS)),
        timedelta(minutes=max(1, int(settings.IPBX_CALLBACK_SPACING_MINUTES))),
        max(5, int(settings.IPBX_CALLBACK_RING_SECONDS)),
    )


def rule_for(callback: ScheduledCallback) -> RetryRule:
    """The call-back's queue's rule, else the default one (settings.IPBX_CALLBACK_*)."""
    row = (
        CallbackRetryRule.objects.filter(queue_id=callback.queue_id).first()
        if callback.queue_id
        else None
    )
    if row is None:
        return default_rule()
    return RetryRule(row.max_attempts, timedelta(minutes=row.spacing_minutes), row.ring_seconds)


def next_attempt_number(callback: ScheduledCallback) -> int:
    """The number the next dial of this call-back's customer will have."""
    last = CallbackAttempt.objects.filter(callback=callback).aggregate(n=Max("number"))["n"]
    return (last or 0) + 1


def last_attempt_end(callback: ScheduledCallback) -> datetime | None:
    """When its customer's last dial ended (its retries are counted from there)."""
    return (
        CallbackAttempt.objects.filter(callback=callback, ended_at__isnull=False)
        .aggregate(at=Max("ended_at"))
        .get("at")
    )


def outcome_of_cause(cause: str) -> str:
    """A customer leg's hang-up cause as an attempt's outcome."""
    if cause in BUSY_CAUSES:
        return Outcome.BUSY
    if cause in NO_ANSWER_CAUSES:
        return Outcome.NO_ANSWER
    return Outcome.FAILED


def do_start_attempt(callback_id: int, number: int, leg: str, now: datetime) -> bool:
    """icm is dialling attempt `number` of the call-back's customer on `leg`."""
    if number < 1:
        return False
    with transaction.atomic():
        row = ScheduledCallback.objects.select_for_update().filter(pk=callback_id).first()
        if row is None:
            return False
        attempt, created = CallbackAttempt.objects.get_or_create(
            callback=row, number=number, defaults={"started_at": now, "leg": leg[:64]}
        )
    if not created and attempt.leg and attempt.leg != leg:
        log.error(
            "callback %s: attempt %s reported dialled on %s and on %s",
            callback_id,
            number,
            attempt.leg,
            leg,
            extra={"callback_id": callback_id},
        )
    return created


def do_score_attempt(
    callback_id: int, number: int, outcome: str, detail: str, now: datetime
) -> str | None:
    """The outcome of attempt `number`; returns the call-back's new status (None: nothing
    changed — an unknown call-back, or an attempt scored already)."""
    if outcome not in DIAL_OUTCOMES or number < 1:
        return None
    with transaction.atomic():
        row = ScheduledCallback.objects.select_for_update().filter(pk=callback_id).first()
        if row is None:
            return None
        attempt, _ = CallbackAttempt.objects.get_or_create(
            callback=row, number=number, defaults={"started_at": now}
        )
        if attempt.outcome:  # reported twice (the outbox replayed it): once only
            return None
        attempt.outcome, attempt.ended_at, attempt.detail = outcome, now, detail[:200]
        attempt.save(update_fields=["outcome", "ended_at", "detail"])
        if row.status not in (Status.RINGING, Status.PENDING):
            return None  # cancelled or over already: the log keeps the dial, nothing else
        if row.status == Status.PENDING and outcome != Outcome.ANSWERED:
            return None  # its lost outcome was swept already; the next attempt is due
        fields = _after(row, number, outcome, now)
        for name, value in fields.items():
            setattr(row, name, value)
        row.save(update_fields=list(fields))
    log.info(
        "callback %s: attempt %s %s (%s): now %s",
        callback_id,
        number,
        LABELS[Outcome(outcome)],
        detail,
        row.status,
        extra={"callback_id": callback_id},
    )
    return str(row.status)


def _after(row: ScheduledCallback, number: int, outcome: str, now: datetime) -> dict[str, object]:
    if outcome == Outcome.ANSWERED:
        return {"status": Status.DONE, "last_error": ""}
    rule = rule_for(row)
    said = LABELS[Outcome(outcome)]
    if number >= rule.max_attempts:
        return {
            "status": Status.UNREACHABLE,
            "last_error": f"unreachable: {number} attempt(s), the last {said}",
        }
    next_at = now + rule.spacing
    return {
        "status": Status.PENDING,
        "next_attempt_at": next_at,
        "last_error": f"attempt {number} of {rule.max_attempts}: {said}; next at "
        f"{next_at.isoformat(timespec='minutes')}",
    }


def do_book_unanswered_caller(
    queue_name: str, number: str, leg: str, outcome: str, detail: str, at: datetime
) -> ScheduledCallback | None:
    """A caller who kept its place in a queue as a call-back (the IVR's key, an overflow)
    did not answer when the agent's turn came: it becomes a booked call-back of that queue
    (source IVR) with this first dial logged, due again after the queue's spacing — or
    unreachable at once when the rule allows one dial. Saved once per dial (its leg)."""
    if outcome not in DIAL_OUTCOMES or outcome == Outcome.ANSWERED:
        return None
    queue = Queue.objects.filter(name=queue_name).first()
    if queue is None or not re.fullmatch(CALLBACK_NUMBER_PATTERN, number):
        log.error("caller call-back to %s in queue %s: not kept (%s)", number, queue_name, outcome)
        return None
    with transaction.atomic():
        if leg and CallbackAttempt.objects.filter(leg=leg[:64]).exists():
            return None  # reported twice (the outbox replayed it)
        callback = ScheduledCallback(
            queue=queue,
            number=number,
            customer=_customer_of(number),
            due_at=at,
            next_attempt_at=at,
            note="The caller's call-back from the queue was not answered.",
            source=ScheduledCallback.Source.IVR,
            status=Status.RINGING,
            attempts=1,
            dispatched_at=at,
            dispatched_to="queue",
        )
        callback.save()
        CallbackAttempt.objects.create(callback=callback, number=1, started_at=at, leg=leg[:64])
        do_score_attempt(callback.pk, 1, outcome, detail, at)
    callback.refresh_from_db()
    return callback


def _customer_of(number: str) -> Customer | None:
    digits = number.lstrip("+")
    found = (
        CustomerNumber.objects.filter(number__in={number, digits, "+" + digits})
        .select_related("customer")
        .order_by("id")
        .first()
    )
    return found.customer if found else None


def close_lost_attempts(callback_ids: list[int], now: datetime) -> list[int]:
    """Call-backs whose outcome icm lost: their open attempt is closed `failed` (it may
    have been dialled); returns those that used their last attempt so (now unreachable)."""
    exhausted = []
    for callback_id in callback_ids:
        with transaction.atomic():
            row = ScheduledCallback.objects.select_for_update().filter(pk=callback_id).first()
            if row is None:
                continue
            open_ = CallbackAttempt.objects.filter(callback=row, outcome="")
            numbers = list(open_.values_list("number", flat=True))
            open_.update(outcome=Outcome.FAILED, ended_at=now, detail="outcome lost (icm)")
            if numbers and max(numbers) >= rule_for(row).max_attempts:
                row.status = Status.UNREACHABLE
                row.last_error = f"unreachable: {max(numbers)} attempt(s), the last lost"
                row.save(update_fields=["status", "last_error"])
                exhausted.append(callback_id)
    return exhausted
