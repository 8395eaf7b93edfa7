"""Scheduled call-backs (AG-17): booking, cancelling and listing them, and handing the due
ones to icm, which rings the agent (or the queue) and then the customer.

Dispatch is safe with any number of Celery workers at once: a due row is claimed in a short
transaction (`SELECT … FOR UPDATE SKIP LOCKED`) and leased to one worker, the `callback_ring`
command is sent outside any transaction, and only the lease's holder writes the result. A
worker that dies mid-send loses the row when its lease expires and another worker takes it;
icm answers "duplicate" for a call-back it already took, so the customer is called once.

Retries: a refusal by icm (the agent is busy, not signed in …) is tried again every
RETRY_SECONDS; after AGENT_ONLY_ATTEMPTS refusals the row's queue (if any) is offered too;
after MAX_ATTEMPTS refusals, or GIVE_UP_AFTER past the due time (or past the customer's last
unanswered dial), the row fails. An icm that does not answer (or a bus that is down) is
retried on the same clock without counting an attempt, and never marks a row done.
A customer who does not answer is dialled again by the retry rule of the call-back's queue
(agents.callback_retry: attempts, spacing); after the last one the call-back is unreachable.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents import callback_retry
from agents.dialing import DialRefused, check_destination
from agents.models import Agent, ScheduledCallback
from agents.placement import switch_of
from icm import client as icm
from icm.bus.commands import CommandError, CommandOutcomeUnknown, IcmUnavailable
from icm.models import Customer, CustomerNumber, Queue, Switch
from outbound.dialling import system_refusal
from supervision.scope import may_control_agent

log = logging.getLogger(__name__)

Status = ScheduledCallback.Status
Source = ScheduledCallback.Source

MAX_AHEAD = timedelta(days=30)  # a call-back is booked at most this far ahead
NOTE_MAX = 1000
DUPLICATE_WINDOW = timedelta(minutes=15)  # one pending call-back per number and target in it
RETRY_SECONDS = 60
AGENT_ONLY_ATTEMPTS = 3  # refusals by the booked agent before its queue is offered too
MAX_ATTEMPTS = 10
GIVE_UP_AFTER = timedelta(hours=1)  # past the due time
OUTCOME_LOST_SECONDS = 600  # "ringing" for an agent this long: the outcome was lost
QUEUE_OUTCOME_LOST_SECONDS = 4 * 3600  # waiting in its queue this long: icm lost it
RECENT_OUTCOMES = timedelta(days=1)  # the desktop shows the agent's unreachable ones so long
LEASE_MARGIN_SECONDS = 30  # beyond the command's reply time-out
UPCOMING_LIMIT = 50


class CallbackRefused(ValueError):
    """A call-back that may not be booked or changed as asked; the message says why."""


class CallbackForbidden(CallbackRefused):
    """Refused by a dialing rule (AG-16) or because of who is asking."""


class CallbackConflict(CallbackRefused):
    """The call-back's state does not allow it (already dialled, being dialled, booked twice)."""


class CallbackNotFound(LookupError):
    """No such call-back."""


# --- booking ---------------------------------------------------------------------------------


def normalise_number(number: Any) -> str:
    """The customer's number as it will be dialled: digits with an optional leading +."""
    digits = re.sub(r"[\s().-]", "", number) if isinstance(number, str) else ""
    if not re.fullmatch(r"\+?[0-9]{2,20}", digits):
        raise CallbackRefused(
            f"{number!r} is not a phone number (2 to 20 digits, optionally after a +)"
        )
    return digits


def customer_for(number: str) -> Customer | None:
    """The customer with this number (INT-2), whichever way the + was written."""
    digits = number.lstrip("+")
    found = (
        CustomerNumber.objects.filter(number__in={number, digits, "+" + digits})
        .select_related("customer")
        .order_by("id")
        .first()
    )
    return found.customer if found else None


def book(
    *,
    number: str,
    due_at: datetime,
    agent: Agent | None = None,
    queue: Queue | str | None = None,
    note: str = "",
    customer: Customer | None = None,
    booked_by: Agent | None = None,
    source: str = Source.AGENT,
    now: datetime | None = None,
) -> ScheduledCallback:
    """Book a call-back of `number` at `due_at` for `agent` and/or `queue` (a Queue or its
    name), or raise CallbackRefused (CallbackForbidden for a dialing rule, CallbackConflict
    for a call-back already booked). The customer is found by number when not given."""
    now = now or timezone.now()
    number = normalise_number(number)
    _check_due_at(due_at, now)
    if source not in Source.values:
        raise CallbackRefused(f"unknown source {source!r} (one of {', '.join(Source.values)})")
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise CallbackRefused(f"the note must be text of at most {NOTE_MAX} characters")
    agent = _bookable_agent(agent)
    queue = _bookable_queue(queue)
    if agent is None and queue is None:
        raise CallbackRefused("a call-back needs an agent or a queue")
    _check_dialing_rules(number, agent, booked_by)
    if source != Source.AGENT:
        _check_system_rules(number)
    _check_not_booked_twice(number, due_at, agent, queue)
    callback = ScheduledCallback.objects.create(
        agent=agent,
        queue=queue,
        number=number,
        customer=customer or customer_for(number),
        due_at=due_at,
        next_attempt_at=due_at,
        note=note,
        booked_by=booked_by,
        source=source,
    )
    _log(
        logging.INFO,
        callback,
        "booked for %s (%s) by %s",
        due_at.isoformat(),
        source,
        booked_by.login_id if booked_by else "-",
    )
    return callback


def _check_due_at(due_at: Any, now: datetime) -> None:
    if not isinstance(due_at, datetime):
        raise CallbackRefused("the call-back time must be a date and time")
    if timezone.is_naive(due_at):
        raise CallbackRefused("the call-back time needs a time zone (e.g. +01:00 or Z)")
    if due_at <= now:
        raise CallbackRefused("the call-back time must be in the future")
    if due_at > now + MAX_AHEAD:
        raise CallbackRefused(f"a call-back can be booked at most {MAX_AHEAD.days} days ahead")


def _bookable_agent(agent: Agent | None) -> Agent | None:
    if agent is None:
        return None
    found = Agent.objects.filter(pk=agent.pk).select_related("extension").first()
    if found is None or not found.active:
        raise CallbackRefused(f"agent {agent.login_id} is not an active agent")
    if found.extension_id is None:
        raise CallbackRefused(f"agent {agent.login_id} has no extension to ring")
    return found


def _bookable_queue(queue: Queue | str | None) -> Queue | None:
    if queue is None or queue == "":
        return None
    name = queue.name if isinstance(queue, Queue) else str(queue)
    found = Queue.objects.filter(name=name).first()
    if found is None or not found.enabled:
        raise CallbackRefused(f"there is no enabled queue {name!r}")
    return found


def _check_dialing_rules(number: str, agent: Agent | None, booked_by: Agent | None) -> None:
    """The rules of the booking agent and of the agent who will make the call apply; with
    neither known (the IVR booking for a queue) those of the lowest level do, so a caller
    cannot book a premium-rate call-back."""
    checked = [a for a in (booked_by, agent) if a is not None]
    try:
        for someone in checked or [Agent(level=Agent.Level.TRAINEE)]:
            check_destination(someone, number)
    except DialRefused as exc:
        raise CallbackForbidden(str(exc)) from exc


def _check_system_rules(number: str) -> None:
    """A number no agent chose (a caller in the IVR, a business system) is dialled by the
    platform: the company's dialling rules for system calls apply (issue 18 item 4)."""
    reason = system_refusal(number)
    if reason:
        raise CallbackForbidden(f"refused by the dialling rules: {reason}")


def _check_not_booked_twice(
    number: str, due_at: datetime, agent: Agent | None, queue: Queue | None
) -> None:
    twin = ScheduledCallback.objects.filter(
        number=number,
        agent=agent,
        queue=queue,
        status=Status.PENDING,
        due_at__range=(due_at - DUPLICATE_WINDOW, due_at + DUPLICATE_WINDOW),
    ).first()
    if twin is not None:
        raise CallbackConflict(
            f"a call-back to {number} is already booked for {twin.due_at.isoformat()}"
        )


# --- reading, permissions, cancelling --------------------------------------------------------


def as_dict(callback: ScheduledCallback) -> dict[str, Any]:
    """A call-back as the desktop and the API show it (JSON-ready)."""
    customer = callback.customer
    return {
        "id": callback.pk,
        "number": callback.number,
        "due_at": callback.due_at.isoformat(),
        "note": callback.note,
        "status": callback.status,
        "source": callback.source,
        "agent": callback.agent.login_id if callback.agent_id else "",
        "queue": callback.queue.name if callback.queue_id else "",
        "customer": {"id": customer.pk, "name": customer.name, "account": customer.account}
        if customer
        else None,
        "booked_by": callback.booked_by.login_id if callback.booked_by_id else "",
        "attempts": callback.attempts,
        "outcome": outcome_text(callback),
        "dials": [
            {
                "number": a.number,
                "started_at": a.started_at.isoformat(),
                "ended_at": a.ended_at.isoformat() if a.ended_at else None,
                "outcome": a.outcome or "dialling",
            }
            for a in callback.dial_attempts.all()
        ],
        "last_error": callback.last_error,
        "dispatched_to": callback.dispatched_to,
        "contact": callback.contact,
        "created_at": callback.created_at.isoformat(),
    }


def outcome_text(callback: ScheduledCallback) -> str:
    """The call-back's outcome in words, as the desktop, the admin and the report show it."""
    dials = [a for a in callback.dial_attempts.all() if a.outcome]
    tried = f"{len(dials)} dial(s)" + (
        f", the last {dials[-1].get_outcome_display().lower()}" if dials else ""
    )
    match callback.status:
        case Status.DONE:
            return "reached" + (f" on dial {dials[-1].number}" if dials else "")
        case Status.UNREACHABLE:
            return f"unreachable after {tried}"
        case Status.FAILED:
            return f"failed: {callback.last_error}" if callback.last_error else "failed"
        case Status.CANCELLED:
            return "cancelled"
        case Status.RINGING:
            return "being called" + (f" (dial {len(dials) + 1})" if dials else "")
    return f"retry at {callback.next_attempt_at:%H:%M} ({tried})" if dials else "pending"


def _with_related() -> Any:
    return ScheduledCallback.objects.select_related(
        "agent", "queue", "customer", "booked_by"
    ).prefetch_related("dial_attempts")


def for_agent(agent: Agent, limit: int = UPCOMING_LIMIT) -> list[dict[str, Any]]:
    """The agent's upcoming call-backs (for it, or booked by it), soonest first, then those
    that ended unreachable lately (the agent sees nobody answered)."""
    mine = _with_related().filter(Q(agent=agent) | Q(booked_by=agent))
    rows = list(mine.filter(status=Status.PENDING).order_by("due_at", "id")[:limit])
    since = timezone.now() - RECENT_OUTCOMES
    rows += mine.filter(status=Status.UNREACHABLE, due_at__gte=since).order_by("-due_at")[:limit]
    return [as_dict(row) for row in rows]


def access_callback(user: Any, callback_id: int) -> ScheduledCallback:
    """The call-back, if `user` may manage it: the agent it rings, the agent who booked it,
    or a user allowed to control agents (team leaders, administrators)."""
    callback = _with_related().filter(pk=callback_id).first()
    if callback is None:
        raise CallbackNotFound(f"no call-back {callback_id}")
    own = getattr(getattr(user, "agent", None), "pk", None)
    allowed = (
        (own is not None and own in (callback.agent_id, callback.booked_by_id))
        or (callback.agent_id is not None and may_control_agent(user, callback.agent.login_id))
        or user.has_perm("agents.change_agent")
    )
    if not allowed:
        raise CallbackForbidden("you may not manage this call-back")
    return callback


def cancel(callback_id: int, now: datetime | None = None) -> ScheduledCallback:
    """Cancel a pending call-back; refused once it is being dialled or has been."""
    now = now or timezone.now()
    with transaction.atomic():
        # waits for a dispatcher's claim to commit, so the lease below is seen
        row = ScheduledCallback.objects.select_for_update().filter(pk=callback_id).first()
        if row is None:
            raise CallbackNotFound(f"no call-back {callback_id}")
        if row.status != Status.PENDING:
            raise CallbackConflict(
                f"the call-back is {row.status}: only a pending one can be cancelled"
            )
        if row.lease_until is not None and row.lease_until > now:
            raise CallbackConflict("the call-back is being dialled right now")
        row.status = Status.CANCELLED
        row.save(update_fields=["status"])
    _log(logging.INFO, row, "cancelled")
    return _with_related().get(pk=row.pk)


# --- dispatch --------------------------------------------------------------------------------


def lease_seconds() -> float:
    return float(settings.ICM_COMMAND_REPLY_TIMEOUT) + LEASE_MARGIN_SECONDS


def claim_next(now: datetime, owner: str) -> ScheduledCallback | None:
    """Lease the next due pending call-back to `owner`, or None. Rows another transaction
    holds are skipped, and a leased row is taken again only once its lease has expired."""
    with transaction.atomic():
        row = (
            ScheduledCallback.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_attempt_at", "id")
            .first()
        )
        if row is None:
            return None
        if row.lease_owner:
            _log(logging.WARNING, row, "lease of %s expired: taken over", row.lease_owner)
        row.lease_owner, row.lease_until = owner, now + timedelta(seconds=lease_seconds())
        row.save(update_fields=["lease_owner", "lease_until"])
    return ScheduledCallback.objects.select_related("agent__extension", "queue", "customer").get(
        pk=row.pk
    )


def dispatch_due(
    now: datetime | None = None, *, limit: int = 200, budget_seconds: float = 30
) -> int:
    """Hand every due call-back to icm, one at a time; returns how many icm took. Each row
    is claimed at most once per run (a retried one is due again only later); a switch whose
    icm did not answer is not tried again in the same run."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[-64:]
    started = time.monotonic()
    _sweep_lost_outcomes(now or timezone.now())
    unreachable: set[str] = set()
    taken = 0
    for _ in range(limit):
        if time.monotonic() - started > budget_seconds:
            break
        callback = claim_next(now or timezone.now(), owner)
        if callback is None:
            break
        if dispatch_one(callback, owner, now or timezone.now(), unreachable) == Status.RINGING:
            taken += 1
    return taken


def _sweep_lost_outcomes(now: datetime) -> int:
    """A call-back icm took for an agent reports its outcome within a few minutes (ring,
    then dial the customer); one still "ringing" long after lost it (icm restarted, or the
    outcome was saved before the row said "ringing"): it is due again."""
    stale = ScheduledCallback.objects.filter(status=Status.RINGING).filter(
        Q(dispatched_to="agent", dispatched_at__lt=now - timedelta(seconds=OUTCOME_LOST_SECONDS))
        | Q(
            dispatched_to="queue",
            dispatched_at__lt=now - timedelta(seconds=QUEUE_OUTCOME_LOST_SECONDS),
        )
    )
    ids = list(stale.values_list("pk", flat=True))
    callback_retry.close_lost_attempts(ids, now)  # its last dial may have used the rule up
    count = ScheduledCallback.objects.filter(pk__in=ids, status=Status.RINGING).update(
        status=Status.PENDING, next_attempt_at=now, last_error="no outcome from icm: asked again"
    )
    if count:
        log.warning("call-backs: %d without an outcome from icm are due again", count)
    return count


def dispatch_one(
    callback: ScheduledCallback, owner: str, now: datetime, unreachable: set[str] | None = None
) -> str:
    """Send one claimed call-back to icm and record the result; returns its new status."""
    unreachable = set() if unreachable is None else unreachable
    if now > retry_from(callback) + GIVE_UP_AFTER:
        return _fail(callback, owner, f"not reached in time ({callback.last_error or 'no answer'})")
    if callback.source != Source.AGENT:  # the rules may have changed since the booking
        reason = system_refusal(callback.number)
        if reason:
            return _fail(callback, owner, f"refused by the dialling rules: {reason}")
    plan = ring_plan(callback)
    if plan is None:
        return _fail(callback, owner, "neither the agent nor the queue can take it any more")
    switch, args = plan
    if switch in unreachable:
        error = f"icm for switch {switch} did not answer"
        return _retry(callback, owner, now, error, counted=False)
    try:  # one key per dispatch: a retry after an unknown outcome is recognised by icm
        reply = icm.callback_ring(switch, args, key=f"cb{callback.pk}-{callback.attempts}")
    except IcmUnavailable as exc:
        unreachable.add(switch)
        return _retry(callback, owner, now, str(exc), counted=False)
    except CommandOutcomeUnknown as exc:  # it may be ringing: asked again under the same key
        return _retry(callback, owner, now, str(exc), counted=False)
    except CommandError as exc:
        return _retry(callback, owner, now, str(exc), counted=True)
    except Exception as exc:  # never leave the row to its lease alone
        _log(logging.ERROR, callback, "callback_ring failed: %s", exc, exc_info=True)
        return _retry(callback, owner, now, f"callback_ring failed: {exc}", counted=False)
    return _taken(callback, owner, now, reply)


def ring_plan(callback: ScheduledCallback) -> tuple[str, dict[str, Any]] | None:
    """(switch, callback_ring args): the agent alone first; its queue too once the agent has
    refused AGENT_ONLY_ATTEMPTS times (or at once when the agent can no longer be rung)."""
    agent = callback.agent if callback.agent_id and callback.agent.active else None
    queue = callback.queue if callback.queue_id and callback.queue.enabled else None
    if queue is not None and agent is not None and callback.attempts < AGENT_ONLY_ATTEMPTS:
        queue = None
    if agent is None and queue is None:
        return None
    switch = switch_of(agent) if agent is not None else switch_of_queue(queue)
    customer = callback.customer.name if callback.customer_id else ""
    rule = callback_retry.rule_for(callback)
    args = {
        "callback": str(callback.pk),
        "attempt": callback_retry.next_attempt_number(callback),
        "ring_seconds": rule.ring_seconds,
        "agent": agent.login_id if agent else "",
        "queue": queue.name if queue else "",
        "number": callback.number,
        "note": callback.note[:NOTE_MAX],
        "customer": customer,
    }
    return switch, args


def retry_from(callback: ScheduledCallback) -> datetime:
    """Where GIVE_UP_AFTER counts from: the due time, or the time the retry rule set for
    the next dial after the customer's last unanswered one (its spacing may be long)."""
    last = callback_retry.last_attempt_end(callback)
    if last is None:
        return callback.due_at
    return max(callback.due_at, last + callback_retry.rule_for(callback).spacing)


def switch_of_queue(queue: Queue) -> str:
    """The switch of the queue's site, else the default one."""
    name = (
        Switch.objects.filter(site_id=queue.site_id)
        .order_by("id")
        .values_list("name", flat=True)
        .first()
    )
    return name or settings.IPBX_SWITCH_NAME


def _taken(callback: ScheduledCallback, owner: str, now: datetime, reply: dict[str, Any]) -> str:
    status = reply.get("status")
    if status not in ("ringing_agent", "queued", "duplicate"):
        return _retry(callback, owner, now, f"icm replied {reply!r:.200}", counted=True)
    fields: dict[str, Any] = {
        "status": Status.RINGING,
        "attempts": callback.attempts + 1,
        "last_error": "",
        "dispatched_at": now,
    }
    if status != "duplicate":  # icm took it earlier (a lost reply): keep what we knew
        fields["dispatched_to"] = "agent" if status == "ringing_agent" else "queue"
        fields["contact"] = str(reply.get("contact") or "")[:64]
    if _record(callback, owner, **fields):
        _log(
            logging.INFO,
            callback,
            "icm took it: %s (contact %s)",
            status,
            fields.get("contact", callback.contact) or "-",
        )
    return Status.RINGING


def _retry(
    callback: ScheduledCallback, owner: str, now: datetime, error: str, *, counted: bool
) -> str:
    attempts = callback.attempts + counted
    next_at = now + timedelta(seconds=RETRY_SECONDS)
    if attempts >= MAX_ATTEMPTS or next_at > retry_from(callback) + GIVE_UP_AFTER:
        return _fail(callback, owner, error, attempts=attempts)
    if _record(callback, owner, attempts=attempts, last_error=error[:300], next_attempt_at=next_at):
        _log(
            logging.WARNING,
            callback,
            "retry at %s (attempt %s): %s",
            next_at.isoformat(),
            attempts,
            error,
        )
    return Status.PENDING


def _fail(callback: ScheduledCallback, owner: str, error: str, attempts: int | None = None) -> str:
    fields: dict[str, Any] = {"status": Status.FAILED, "last_error": error[:300]}
    if attempts is not None:
        fields["attempts"] = attempts
    if _record(callback, owner, **fields):
        _log(logging.ERROR, callback, "failed: %s", error)
    return Status.FAILED


def _record(callback: ScheduledCallback, owner: str, **fields: Any) -> bool:
    """Write the result and end the lease — only if this worker still holds it and the row
    is still pending (it may have been taken over after the lease expired)."""
    written = ScheduledCallback.objects.filter(
        pk=callback.pk, lease_owner=owner, status=Status.PENDING
    ).update(lease_owner="", lease_until=None, **fields)
    if not written:
        _log(logging.WARNING, callback, "result %s not recorded: the lease was lost", fields)
    return bool(written)


def _log(level: int, callback: ScheduledCallback, message: str, *args: Any, **kwargs: Any) -> None:
    agent = callback.agent.login_id if callback.agent_id else ""
    queue = callback.queue.name if callback.queue_id else ""
    log.log(
        level,
        "callback %s agent %s queue %s: " + message,
        callback.pk,
        agent or "-",
        queue or "-",
        *args,
        extra={"callback_id": callback.pk, "agent_id": agent, "queue": queue},
        **kwargs,
    )
