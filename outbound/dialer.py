"""The campaign pacer (issue 9 item 3), run by Celery: beat wakes `outbound.pace` every
second; for each running campaign one worker at a time (a PostgreSQL advisory lock per
campaign) —
1. **settles** finished attempts: the retry rules (outbound.domain.retry) give the contact
   its next attempt time, or close it; its lease is released;
2. **re-sends** attempts a worker logged but icm never confirmed (the worker died between
   its commit and its bus message, or icm died) and placed ones not heard of for a whole
   lease: the same idempotency key, so icm dials it at most once; one an icm that died had
   placed is "maybe dialled": closed from its leg's CDR once the leg is gone, never redialled;
   the agents' wrap-up dispositions of answered calls are copied into the attempt log;
3. **decides** how many calls to place (outbound.domain.predictive) from what icm says the
   campaign has now (`campaign_floor`) and the rolling window of its last attempts;
4. **leases** that many due contacts (`FOR UPDATE SKIP LOCKED`: never one contact twice at
   once), skipping do-not-call numbers and contacts outside their calling windows (those
   get the next opening as their time), logs an attempt for each under its key and commits;
5. **asks icm** to dial each (`campaign_dial`); icm paces the originates.
A campaign with answering-machine detection is paused, with its reason, when icm's floor
says the switch has no detection it can use, or when icm logged an attempt the switch broke
(`switch_failed`: the detection application is missing); that attempt is given back to its
contact (issue 17).
A worker that dies anywhere leaves either nothing (rolled back) or attempts that step 2
sends again, so no attempt is lost or dialed twice.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from icm import client as icm
from icm.bus.commands import CommandError, IcmUnavailable
from icm.domain.calls import RESYNC_HANGUP_CAUSE
from icm.models import CallLeg, Gateway, Switch
from outbound.dialling import system_rules
from outbound.domain.amd import SWITCH_FAILED, NoDetection, choose
from outbound.domain.dialling_rules import refusal
from outbound.domain.observations import RollingWindow
from outbound.domain.predictive import DialMode, DialSettings, Floor, calls_to_place
from outbound.domain.retry import CAUSES, Done, Result, RetryAt, RetryPolicy, next_step
from outbound.domain.windows import CallingWindow, allowed, contact_zone, next_opening
from outbound.models import Attempt, Campaign, Contact, DoNotCall

log = logging.getLogger(__name__)
LOCK_BASE = 7_315_000
RESEND_AFTER = timedelta(seconds=15)
LEASE = timedelta(minutes=10)
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # who holds a lease
_RESULTS = {r.value for r in Result}


def windows_of(campaign: Campaign) -> list[CallingWindow]:
    out = []
    for w in campaign.windows or []:
        spans = ((time.fromisoformat(w["start"]), time.fromisoformat(w["end"])),)
        out.append(CallingWindow(frozenset(int(d) for d in w["days"]), spans))
    return out


def policy_of(campaign: Campaign) -> RetryPolicy:
    delays = {**(campaign.retry_delays or {})}
    fields = {
        k: delays[k]
        for k in (
            "busy",
            "no_answer",
            "failed",
            "machine",
            "invalid",
            "abandoned",
            "skipped",
            "unknown",
        )
        if k in delays
    }
    return RetryPolicy(max_attempts=campaign.max_attempts, **fields)


def switch_of(campaign: Campaign) -> str:
    if campaign.switch_id:
        return campaign.switch.name
    first = Switch.objects.order_by("id").first()
    if first is None:
        raise IcmUnavailable("no switch configured")
    return first.name


def pace_all(now: datetime | None = None) -> dict[str, Any]:
    done = {}
    for campaign in Campaign.objects.filter(state=Campaign.State.RUNNING):
        done[campaign.name] = tick(campaign.pk, now)
    return done


def tick(campaign_id: int, now: datetime | None = None) -> dict[str, Any]:
    """One pacing step of one campaign (skipped when another worker holds it: a session
    advisory lock, released when the step ends — or when a dead worker's connection goes)."""
    now = now or datetime.now(tz=UTC)
    key = LOCK_BASE + campaign_id
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cur.fetchone()[0]:
            return {"skipped": "another worker paces it"}
    try:
        return _tick(campaign_id, now)
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [key])


def _tick(campaign_id: int, now: datetime) -> dict[str, Any]:
    campaign = Campaign.objects.select_related("queue", "switch", "flow").get(pk=campaign_id)
    with transaction.atomic():
        settled = settle(campaign, now)
        fill_dispositions(campaign, now)
    # logged but never confirmed by icm, or placed and not heard of for a whole lease (its
    # icm may have died): asked again under the same key
    resend = list(
        Attempt.objects.filter(campaign=campaign, ended_at__isnull=True)
        .filter(
            Q(started_at__isnull=True, requested_at__lt=now - RESEND_AFTER)
            | Q(started_at__isnull=False, contact__lease_until__lt=now)
        )
        .select_related("contact")
    )
    limits = gateway_limits(campaign)  # once a step, not once an attempt
    sent = sum(_send(campaign, a, limits, now) for a in resend)
    if campaign.state != Campaign.State.RUNNING:
        return {"settled": settled, "resent": sent, "placed": 0}
    broken = switch_broke(campaign)
    if broken:
        _pause(campaign, broken)
        return {"settled": settled, "resent": sent, "placed": 0, "paused": broken}
    try:
        floor = floor_of(campaign)
    except (CommandError, IcmUnavailable) as exc:
        log.warning("campaign %s: icm did not answer the floor (%s)", campaign.name, exc)
        return {"settled": settled, "resent": sent, "placed": 0, "error": str(exc)}
    refusal = detection_refusal(campaign, floor.get("detection"))
    if refusal:
        _pause(campaign, refusal)
        return {"settled": settled, "resent": sent, "placed": 0, "paused": refusal}
    wanted = _decide(campaign, floor)
    room = max(0, int(campaign.calls_per_second * 2) + 1 - int(floor.get("queued", 0)))
    # call-backs booked for an agent go first, beside what the mode wants: they ring their
    # agent (or, when it cannot take them, go to the queue as a progressive call would)
    callbacks = lease(campaign, room, now, callbacks=True) if room else []
    budget = max(0, min(wanted, room - len(callbacks)))
    attempts = callbacks + (lease(campaign, budget, now) if budget else [])
    placed = sum(_send(campaign, a, limits, now) for a in attempts)
    _finish_if_done(campaign)
    return {"settled": settled, "resent": sent, "wanted": wanted, "placed": placed}


def detection_refusal(campaign: Campaign, loaded: Any) -> str:
    """Why the switch cannot run the campaign's answering-machine detection ("": it can, the
    campaign does not use it, or icm does not know the switch's modules yet)."""
    if not campaign.amd or campaign.mode == Campaign.Mode.PREVIEW or not isinstance(loaded, dict):
        return ""
    try:
        choose(campaign.amd_method, loaded)
    except NoDetection as exc:
        return str(exc)
    return ""


def switch_broke(campaign: Campaign) -> str:
    """Why the campaign must stop: an attempt since it last started that the switch hung up
    while detecting ("" if none)."""
    since = campaign.state_changed_at or datetime(2000, 1, 1, tzinfo=UTC)
    attempt = (
        Attempt.objects.filter(campaign=campaign, result=SWITCH_FAILED, ended_at__gte=since)
        .order_by("-ended_at")
        .first()
    )
    if attempt is None:
        return ""
    method = campaign.amd_method if campaign.amd_method != "auto" else "mod_amd / mod_avmd"
    return (
        f"the switch hung up {attempt.number} while detecting answering machines "
        f"({attempt.hangup_cause or 'no cause'}): its detection ({method}) does not run "
        f'("Invalid Application" in its log?); contacts keep their attempts'
    )


def _pause(campaign: Campaign, reason: str) -> None:
    from outbound.control import pause_for

    pause_for(campaign, reason)


def fill_dispositions(campaign: Campaign, now: datetime) -> int:
    """The agents' wrap-up dispositions (AG-…: ContactNote) of the campaign's answered calls
    of the last day, into the attempt log (INT-3). Set-based; a later note wins."""
    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE outbound_attempt a SET disposition = d.code
            FROM (SELECT DISTINCT ON (n.call_uuid) n.call_uuid, disp.code
                  FROM agents_contactnote n JOIN agents_disposition disp
                    ON disp.id = n.disposition_id
                  WHERE n.at > %(since)s ORDER BY n.call_uuid, n.at DESC) d
            WHERE a.campaign_id = %(campaign)s AND a.call_uuid = d.call_uuid
              AND a.result = 'answered' AND a.ended_at > %(since)s
              AND a.disposition IS DISTINCT FROM d.code""",
            {"campaign": campaign.pk, "since": now - timedelta(days=1)},
        )
        return cur.rowcount


def settle(campaign: Campaign, now: datetime) -> int:
    """Attempts that ended → the contact's next step (called under the campaign's lock)."""
    policy = policy_of(campaign)
    windows = windows_of(campaign)
    count = 0
    ended = (
        Attempt.objects.filter(
            campaign=campaign, ended_at__isnull=False, contact__status=Contact.Status.DIALING
        )
        .select_related("contact")
        .order_by("ended_at")
    )
    for attempt in ended:
        contact = attempt.contact
        if contact.attempts != attempt.attempt:
            continue  # an older attempt; the newest decides
        apply_result(campaign, contact, attempt, now, policy, windows)
        count += 1
    return count


def apply_result(
    campaign: Campaign,
    contact: Contact,
    attempt: Attempt,
    now: datetime,
    policy: RetryPolicy | None = None,
    windows: list[CallingWindow] | None = None,
) -> Done | RetryAt:
    """The contact's next step after its newest attempt (an agent's "call back at …" on it
    wins over the result); saved. Called under the campaign's lock."""
    policy = policy or policy_of(campaign)
    windows = windows_of(campaign) if windows is None else windows
    if attempt.result == SWITCH_FAILED:  # the switch's fault: the contact keeps its attempt
        contact.status, contact.last_result = Contact.Status.PENDING, SWITCH_FAILED
        contact.lease_owner, contact.lease_until = "", None
        contact.next_attempt_at = attempt.ended_at or now
        contact.save(
            update_fields=["status", "last_result", "lease_owner", "lease_until", "next_attempt_at"]
        )
        return RetryAt(contact.next_attempt_at)
    result = Result(attempt.result) if attempt.result in _RESULTS else Result.FAILED
    if attempt.callback_at is not None:
        result = Result.CALLBACK
    step = next_step(
        policy, dials_made(contact), result, attempt.ended_at or now, attempt.callback_at
    )
    contact.last_result = result.value
    contact.lease_owner, contact.lease_until = "", None
    contact.callback_agent = attempt.callback_agent if result is Result.CALLBACK else ""
    if isinstance(step, Done):
        exhausted = step.reason == "max_attempts"
        contact.status = Contact.Status.EXHAUSTED if exhausted else Contact.Status.DONE
        contact.next_attempt_at = None
    else:
        contact.status = Contact.Status.PENDING
        at = step.at
        zone = contact_zone(contact.time_zone or None, campaign.time_zone)
        if windows and not allowed(windows, zone, at):
            at = next_opening(windows, zone, at) or at
        contact.next_attempt_at = at
    contact.save(
        update_fields=[
            "status",
            "last_result",
            "lease_owner",
            "lease_until",
            "next_attempt_at",
            "callback_agent",
        ]
    )
    return step


def dials_made(contact: Contact) -> int:
    """The contact's attempts that count: a skipped preview dialed nothing, and a call the
    switch broke (`switch_failed`) is not the contact's."""
    return (
        contact.attempts
        - contact.attempt_log.filter(result__in=(Result.SKIPPED, SWITCH_FAILED)).count()
    )


def lease(campaign: Campaign, budget: int, now: datetime, callbacks: bool = False) -> list[Attempt]:
    """Take up to `budget` due contacts (never one another worker holds) and log an attempt
    for each; committed before icm is asked. `callbacks`: only the contacts an agent booked
    a call-back for itself (the others: only those without)."""
    windows = windows_of(campaign)
    blocked = set(DoNotCall.objects.values_list("number", flat=True))
    rules = system_rules()
    out: list[Attempt] = []
    with transaction.atomic():
        due = (
            Contact.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, status=Contact.Status.PENDING)
            .filter(~Q(callback_agent="") if callbacks else Q(callback_agent=""))
            .exclude(next_attempt_at__gt=now)
            .order_by("next_attempt_at", "id")[: budget * 4 + 10]
        )
        for contact in due:
            if len(out) >= budget:
                break
            if contact.number in blocked or contact.number.lstrip("+") in blocked:
                contact.status, contact.last_result = Contact.Status.DNC, "dnc"
                contact.save(update_fields=["status", "last_result"])
                continue
            if _refused(campaign, contact, refusal(rules, contact.number)):
                continue
            zone = contact_zone(contact.time_zone or None, campaign.time_zone)
            if not windows or not allowed(windows, zone, now):
                opening = next_opening(windows, zone, now) if windows else None
                contact.next_attempt_at = opening or now + timedelta(days=1)
                contact.save(update_fields=["next_attempt_at"])
                continue
            contact.attempts += 1
            contact.status = Contact.Status.DIALING
            contact.lease_owner, contact.lease_until = WORKER, now + LEASE
            contact.save(update_fields=["attempts", "status", "lease_owner", "lease_until"])
            out.append(
                Attempt.objects.create(
                    campaign=campaign,
                    contact=contact,
                    number=contact.number,
                    attempt=contact.attempts,
                    key=f"c{campaign.pk}-{contact.pk}-{contact.attempts}",
                    requested_at=now,
                    worker=WORKER,
                )
            )
    return out


def _refused(campaign: Campaign, contact: Contact, reason: str) -> bool:
    """A contact whose number the company's dialling rules refuse is never dialled: it is
    closed as refused (issue 18 item 4). False when `reason` is empty."""
    if not reason:
        return False
    log.warning("campaign %s: contact %s not dialled: %s", campaign.name, contact.pk, reason)
    contact.status, contact.last_result = Contact.Status.REFUSED, "dialling_rules"
    contact.lease_owner, contact.lease_until, contact.next_attempt_at = "", None, None
    contact.save(
        update_fields=["status", "last_result", "lease_owner", "lease_until", "next_attempt_at"]
    )
    return True


def _send(
    campaign: Campaign, attempt: Attempt, limits: dict[str, Any], now: datetime | None = None
) -> int:
    # the rules may have changed meanwhile (a placed attempt is only asked about)
    reason = refusal(system_rules(), attempt.number) if attempt.started_at is None else ""
    if reason:
        with transaction.atomic():
            Attempt.objects.filter(pk=attempt.pk, started_at__isnull=True).update(
                ended_at=datetime.now(tz=UTC),
                result=Result.INVALID.value,
                hangup_cause="DIALLING_RULES",
            )
            _refused(campaign, attempt.contact, reason)
        return 0
    args = {
        "key": attempt.key,
        "campaign": campaign.name,
        "number": attempt.number,
        "gateway": campaign.gateway,
        "mode": campaign.mode,
        "queue": campaign.queue.name if campaign.queue_id else "",
        "caller_id": campaign.caller_id_number,
        "ring_seconds": campaign.ring_seconds,
        "amd": campaign.amd,
        "amd_method": campaign.amd_method,
        "amd_window": campaign.amd_window,
        "machine_action": campaign.machine_action,
        "message": campaign.message,
        "calls_per_second": campaign.calls_per_second,
        "flow": campaign.flow.name if campaign.flow_id else "",
        "max_concurrent": campaign.max_concurrent,
        "attempt": attempt.attempt,
        "preview_seconds": campaign.preview_seconds,
        "agent": attempt.contact.callback_agent,  # a call-back rings its agent first
        **limits,
        "data": {"name": attempt.contact.name, **(attempt.contact.data or {})},
    }
    try:
        reply = icm.campaign_dial(switch_of(campaign), args)
    except (CommandError, IcmUnavailable) as exc:
        log.warning(
            "campaign %s: attempt %s not taken by icm (%s); sent again later",
            campaign.name,
            attempt.key,
            exc,
        )
        return 0
    if reply.get("duplicate"):
        _already_taken(attempt, reply, now or datetime.now(tz=UTC))
        return 0
    return 1


def _already_taken(attempt: Attempt, reply: dict[str, Any], now: datetime) -> None:
    """icm had the attempt's key. Still going (or its leg still up, or the switch cannot be
    asked): the contact's lease runs on. Placed by an icm that died and its leg gone from
    the switch ("maybe dialled"): closed now from the leg's CDR — never dialled again."""
    if reply.get("maybe_dialled") and reply.get("live") is False:
        close_unconfirmed(attempt, str(reply.get("leg") or ""), now)
        return
    Contact.objects.filter(pk=attempt.contact_id, status=Contact.Status.DIALING).update(
        lease_until=now + LEASE
    )


def close_unconfirmed(attempt: Attempt, leg: str, now: datetime) -> None:
    """End an attempt an icm placed and died with (issue 21): icm's CDR of its leg says how
    it went (answered, or the cause it ended with unanswered); without one the outcome is
    `unknown` (cause ICM_RESTARTED) — it may have rung, so the campaign's rules do not dial
    it again unless their `unknown` delay says so."""
    cdr = CallLeg.objects.filter(uuid=leg).first() if leg else None
    fields: dict[str, Any] = {
        "call_uuid": leg,
        "ended_at": now,
        "result": Result.UNKNOWN.value,
        "hangup_cause": "ICM_RESTARTED",
    }
    # a leg icm only saw end in a resync (gone while icm was away) ended who knows how
    known = cdr is not None and (cdr.hungup_at and cdr.hangup_cause != RESYNC_HANGUP_CAUSE)
    if cdr is not None and (cdr.answered_at or known):
        ended, answered = cdr.hungup_at or now, cdr.answered_at
        cause = cdr.hangup_cause or "NORMAL_CLEARING"
        fields.update(
            started_at=cdr.created_at,
            answered_at=answered,
            ended_at=ended,
            hangup_cause=cause,
            result=Result.ANSWERED.value if answered else CAUSES.get(cause, Result.FAILED.value),
            ring_seconds=max(0.0, ((answered or ended) - cdr.created_at).total_seconds()),
            talk_seconds=max(0.0, (ended - answered).total_seconds()) if answered else None,
        )
    closed = Attempt.objects.filter(pk=attempt.pk, ended_at__isnull=True).update(**fields)
    if closed:
        log.warning(
            "campaign attempt %s: placed by an icm that died, leg %s gone: %s (%s)",
            attempt.key,
            leg or "-",
            fields["result"],
            fields["hangup_cause"],
        )


def gateway_limits(campaign: Campaign) -> dict[str, Any]:
    """The trunk's own caps, shared by every campaign dialing through it (icm keeps one
    count per gateway): calls at once (`max_channels`) and calls per second."""
    row = (
        Gateway.objects.filter(name=campaign.gateway, enabled=True)
        .filter(switch__name=switch_of(campaign))
        .values("max_channels", "calls_per_second")
        .first()
    )
    if row is None:
        return {}
    return {
        "gateway_max_channels": row["max_channels"],
        "gateway_calls_per_second": row["calls_per_second"],
    }


def floor_of(campaign: Campaign) -> dict[str, Any]:
    """What icm's dialer has for the campaign now (`campaign_floor`)."""
    queue = campaign.queue.name if campaign.queue_id else ""
    return icm.campaign_floor(switch_of(campaign), campaign.name, queue)


def _window(campaign: Campaign) -> RollingWindow:
    window = RollingWindow()
    recent = Attempt.objects.filter(campaign=campaign, ended_at__isnull=False).order_by(
        "-ended_at"
    )[:400]
    for a in reversed(list(recent)):
        person = a.result in ("answered", "abandoned")
        window.record_attempt(a.ring_seconds or 0.0, person, a.result == "abandoned")
        if a.result == "answered" and a.talk_seconds:
            window.record_handle(a.talk_seconds)
    return window


def _decide(campaign: Campaign, floor: dict[str, Any]) -> int:
    mode = DialMode(campaign.mode)
    if mode is DialMode.PREVIEW:  # one contact for each free agent not shown one yet
        return max(0, int(floor.get("free_agents", 0)) - int(floor.get("queued", 0)))
    dial_settings = DialSettings(
        abandon_cap=max(0.001, min(campaign.abandon_cap_pct / 100, 0.5)),
        max_ratio=campaign.max_ratio,
        max_concurrent=campaign.max_concurrent,
    )
    state = Floor(
        int(floor.get("free_agents", 0)),
        int(floor.get("busy_agents", 0)),
        int(floor.get("ringing", 0)) + int(floor.get("queued", 0)),
        int(floor.get("waiting", 0)),
        int(floor.get("connected", 0)),
    )
    return calls_to_place(mode, state, _window(campaign).stats(), dial_settings).calls


def _finish_if_done(campaign: Campaign) -> None:
    busy = campaign.contacts.filter(
        status__in=(Contact.Status.PENDING, Contact.Status.DIALING)
    ).exists()
    if not busy:
        Campaign.objects.filter(pk=campaign.pk, state=Campaign.State.RUNNING).update(
            state=Campaign.State.FINISHED, state_changed_at=datetime.now(tz=UTC)
        )
