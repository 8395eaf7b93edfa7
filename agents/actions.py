"""What an agent may do from its desktop (AG-1…AG-7): checked here, carried out by icm.

Every command acts on the signed-in agent itself — its state, the offer ringing its phone,
the call it is on — never on a channel or an agent the page names, so an agent controls
only its own calls.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, transaction
from redis import RedisError

from agents import callbacks, colleagues
from agents.dialing import DialRefused, check_destination, check_dial, trunk_for
from agents.models import Agent, AgentStateChange, ContactNote, Disposition
from agents.reasons import UnknownReason, check_state_reason
from icm import client as icm
from icm.actions import check_agent_state
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.command_schema import AGENT_CALL_ACTIONS
from icm.bus.commands import CommandError, IcmUnavailable
from outbound import callbacks as campaign_callbacks
from supervision.bulletins import BulletinRefused, mark_read

log = logging.getLogger(__name__)

WRAP_UP = "wrap_up"
# a retry finds the note of its wrap-up by time: icm's clock (the wrap-up's start) and the
# database's (the note's) may differ by this much
CLOCK_SLACK_SECONDS = 5
# a wrap-up that ended (its timer) this recently still takes the agent's note
LATE_NOTE_SECONDS = 120
STATE_COMMANDS = (
    "login",
    "login_not_ready",
    "ready",
    "not_ready",
    "logout",
    "end_wrap_up",
    "extend_wrap_up",
    "reject",
    "reject_not_ready",
)
# a colleague: call it (AG-8), listen to or barge into its call (AG-19)
COLLEAGUE_COMMANDS = ("call_agent", "monitor_colleague")
# the desktop's call buttons: every agent-call action but dialling (its own endpoint)
CALL_COMMANDS = tuple(a for a in AGENT_CALL_ACTIONS if a not in ("dial", *COLLEAGUE_COMMANDS))


class DesktopRefused(ValueError):
    """A desktop command that is not allowed or not well formed; says why."""


class WrapUpNotSaved(IcmUnavailable):
    """The wrap-up could not be saved (a database error): nothing ended, try again (503)."""


def check_desktop_command(
    agent: Agent, switch: str, command: str, args: dict[str, Any]
) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise DesktopRefused("args must be an object")
    if command in STATE_COMMANDS:
        try:  # only a configured code reaches icm and the supervisors' screens (issue 18)
            reason = check_state_reason(command, args.get("reason"))
        except UnknownReason as exc:
            raise DesktopRefused(str(exc)) from exc
        return check_agent_state(switch, agent.login_id, command, reason)
    if command == WRAP_UP:
        return do_wrap_up(agent, switch, args)
    if command == "pick":  # a chosen waiting caller of one of its queues (AG-3)
        contact = str(args.get("contact", ""))[:64]
        if not contact:
            raise DesktopRefused("which caller?")
        return icm.agent_pick(switch, agent.login_id, contact)
    if command == "read_bulletin":  # the read receipt (SV-12), of its own bulletins only
        try:
            return mark_read(agent, int(str(args.get("id", ""))))
        except (BulletinRefused, ValueError) as exc:
            raise DesktopRefused(str(exc) or "no such bulletin") from exc
    if command in ("book_callback", "cancel_callback"):
        return _callback_command(agent, command, args)
    if command == "dial":
        try:
            return check_dial(agent, switch, str(args.get("number", "")))
        except DialRefused as exc:
            raise DesktopRefused(str(exc)) from exc
    if command in COLLEAGUE_COMMANDS:  # AG-8, AG-19 (agents.colleagues)
        try:
            return colleagues.desktop_command(agent, command, args)
        except (ValueError, PermissionError, LookupError) as exc:
            raise DesktopRefused(str(exc)) from exc
    if command in CALL_COMMANDS:
        payload: dict[str, Any] = {}
        if command == "dtmf":
            payload["digits"] = str(args.get("digits", ""))[:32]
        if command == "preview_skip":
            payload["not_ready"] = bool(args.get("not_ready"))
        if command == "transfer":
            payload.update(_transfer_target(agent, switch, args))
        if command == "consult":
            payload.update(_consult_target(agent, switch, args))
        return icm.agent_call(switch, agent.login_id, command, **payload)
    raise DesktopRefused(f"unknown command {command!r}")


def _callback_command(agent: Agent, command: str, args: dict[str, Any]) -> dict[str, Any]:
    """Book a call-back for oneself at a time (AG-17), or cancel one of one's own."""
    try:
        if command == "cancel_callback":
            callback_id = int(str(args.get("id", "")))
            callbacks.access_callback(agent.user, callback_id)
            return callbacks.as_dict(callbacks.cancel(callback_id))
        try:
            due_at = datetime.fromisoformat(str(args.get("due_at", "")))
        except ValueError as exc:
            raise DesktopRefused("give the call-back's date and time") from exc
        if due_at.tzinfo is None:
            raise DesktopRefused("the call-back's time needs its time zone")
        booked = callbacks.book(
            number=str(args.get("number", "")),
            due_at=due_at,
            agent=agent,
            note=str(args.get("note", ""))[:1000],
            booked_by=agent,
        )
        return callbacks.as_dict(booked)
    except (ValueError, LookupError) as exc:  # CallbackRefused, CallbackNotFound, int()
        raise DesktopRefused(str(exc) or "no such call-back") from exc


def _transfer_target(agent: Agent, switch: str, args: dict[str, Any]) -> dict[str, Any]:
    """Where a blind transfer sends the customer (AG-9, AG-13): a queue, an agent by ID (icm
    checks it is ready), an extension, or a number under the same dialing rules as a call
    (AG-16), through the company's trunk (its gateway and caller ID)."""
    kind, target = str(args.get("kind", "")), str(args.get("target", "")).strip()[:64]
    payload: dict[str, Any] = {"kind": kind, "note": str(args.get("note", ""))[:1000]}
    if kind == "agent":
        if not Agent.objects.filter(login_id=target, active=True).exists():
            raise DesktopRefused(f"there is no agent {target!r}")
        if target == agent.login_id:
            raise DesktopRefused("you cannot transfer a call to yourself")
    if kind in ("number", "extension"):
        try:  # a transfer reaches numbers too: the same rules as dialing
            target, internal = check_destination(agent, target)
            if kind == "extension" and not internal:
                raise DesktopRefused(f"there is no extension {target}")
            if internal:
                kind = payload["kind"] = "extension"
            else:
                payload["gateway"], payload["caller_id"] = trunk_for(switch)
        except DialRefused as exc:
            raise DesktopRefused(str(exc)) from exc
    payload["target"] = target
    return payload


def _consult_target(agent: Agent, switch: str, args: dict[str, Any]) -> dict[str, Any]:
    """Whom a consultation rings: an agent by ID, or a number / extension under the same
    dialing rules as a call (AG-16), through the trunk when it is not an extension."""
    kind, target = str(args.get("kind", "")), str(args.get("target", "")).strip()[:64]
    note = str(args.get("note", ""))[:1000]
    if kind == "agent":
        if not Agent.objects.filter(login_id=target, active=True).exists():
            raise DesktopRefused(f"there is no agent {target!r}")
        return {"kind": kind, "target": target, "note": note}
    if kind not in ("number", "extension"):
        raise DesktopRefused("consult an agent, an extension or a number")
    try:
        target, internal = check_destination(agent, target)
        if internal:
            return {"kind": "extension", "target": target, "note": note}
        if kind == "extension":
            raise DesktopRefused(f"there is no extension {target}")
        gateway, caller_id = trunk_for(switch)
    except DialRefused as exc:
        raise DesktopRefused(str(exc)) from exc
    return {
        "kind": "number",
        "target": target,
        "note": note,
        "gateway": gateway,
        "caller_id": caller_id,
    }


def do_wrap_up(agent: Agent, switch: str, args: dict[str, Any]) -> dict[str, Any]:
    """Save the disposition and notes of the contact just handled, then end wrap-up (the
    agent returns to the state it had before the call). Refused unless the agent is in
    wrap-up now (or has just left it, below): a note never lands on an older contact.

    Save first, then end (issue 21): when the database fails, the agent stays in wrap-up
    with its form and is told to try again; a try after a partial success (the note saved,
    ending the wrap-up failed) updates that note, never adds a second one; a wrap-up that
    ended just before (its timer, or an end whose answer was lost) still takes the note."""
    state, live_contact, since = _live_state(agent, switch)
    left = None
    if state != "wrap_up":
        # icm's timer ended it as the agent pressed Done, or the end went through but its
        # answer was lost: the note of that wrap-up is still taken
        left = _wrap_up_just_left(agent, since)
        if left is None:
            raise DesktopRefused("you are not in wrap-up")
        live_contact, since = left
    code = str(args.get("disposition") or "")
    disposition = Disposition.objects.filter(code=code, active=True).first() if code else None
    if code and disposition is None:
        raise DesktopRefused(f"unknown disposition {code!r}")
    # its own contact, from icm's live state (the state log may not be written yet); never
    # one the page names
    call_uuid = live_contact or _last_contact(agent)
    notes = str(args.get("notes") or "")[:4000]
    callback = _campaign_callback(call_uuid, args)  # checked before anything is saved
    booked = None
    still = "you are still in wrap-up" if left is None else "your wrap-up has ended"
    try:
        if call_uuid:
            save_wrap_up_note(agent, call_uuid, since, disposition, notes)
        if callback is not None:
            attempt, at, mine = callback
            booked = campaign_callbacks.book(attempt, at, agent.login_id if mine else "")
    except campaign_callbacks.CampaignCallbackRefused as exc:  # it changed meanwhile: say so
        raise DesktopRefused(f"your notes are saved, but no call-back: {exc}; {still}") from exc
    except DatabaseError as exc:
        log.warning(
            "agent %s: wrap-up of %s not saved: %s",
            agent.login_id,
            call_uuid,
            exc,
            extra={"agent_id": agent.login_id, "call_uuid": call_uuid},
        )
        raise WrapUpNotSaved(
            f"your wrap-up could not be saved (the database is unavailable); {still}: "
            "try again in a moment"
        ) from exc
    if left is not None:  # already ended
        return {
            "agent": agent.login_id,
            "state": state,
            "call_uuid": call_uuid,
            "disposition": code,
            "callback": booked,
        }
    try:
        result = check_agent_state(switch, agent.login_id, "end_wrap_up", "")
    except CommandError as exc:  # the same error (unavailable: 503), saying what was kept
        raise type(exc)(f"your notes are saved, but the wrap-up did not end: {exc}") from exc
    return {**result, "call_uuid": call_uuid, "disposition": code, "callback": booked}


def save_wrap_up_note(
    agent: Agent,
    call_uuid: str,
    since: float | None,
    disposition: Disposition | None,
    notes: str,
) -> ContactNote:
    """The agent's note on a contact for the wrap-up that began at `since` (epoch seconds):
    written once, updated by a retry of the same wrap-up (idempotent)."""
    with transaction.atomic():
        mine = ContactNote.objects.select_for_update().filter(agent=agent, call_uuid=call_uuid)
        if since is not None:  # an earlier wrap-up of the same contact keeps its own note
            began = datetime.fromtimestamp(since - CLOCK_SLACK_SECONDS, tz=UTC)
            mine = mine.filter(at__gte=began)
        note = mine.order_by("-at").first()
        if note is None:
            return ContactNote.objects.create(
                agent=agent, call_uuid=call_uuid, disposition=disposition, notes=notes
            )
        note.disposition, note.notes = disposition, notes
        note.save(update_fields=["disposition", "notes"])
        return note


def _campaign_callback(call_uuid: str, args: dict[str, Any]) -> tuple[Any, Any, bool] | None:
    """The wrap-up's "call back at …" (a campaign call's next attempt at that time: to this
    agent, or to anyone of the queue), checked; None when not asked."""
    raw = str(args.get("callback_at") or "")
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise DesktopRefused("give the call-back's date and time") from exc
    to = str(args.get("callback_to") or "me")
    if to not in ("me", "queue"):
        raise DesktopRefused("a call-back goes to you (me) or to the queue")
    attempt = campaign_callbacks.campaign_attempt(call_uuid)
    if attempt is None:
        raise DesktopRefused("this was not a campaign call: book the call-back under Call-backs")
    try:
        campaign_callbacks.check(attempt, at)
    except campaign_callbacks.CampaignCallbackRefused as exc:
        raise DesktopRefused(str(exc)) from exc
    return attempt, at, to == "me"


def _live_state(agent: Agent, switch: str) -> tuple[str, str, float | None]:
    """(state, contact, since) of the agent in icm's live view; the bus (Redis) down is
    `IcmUnavailable` (a 503, the desktop's error reply), not a crash."""
    try:
        raw = get_redis().hget(keys.agents_key(switch), agent.login_id)
    except RedisError as exc:
        raise IcmUnavailable(
            f"the command bus is unavailable ({exc}): nothing was changed; try again"
        ) from exc
    live = json.loads(raw) if raw else {}
    since = live.get("since")
    return (
        str(live.get("state", "logged_out")),
        str(live.get("contact") or "")[:64],
        float(since) if isinstance(since, int | float) else None,
    )


def _wrap_up_just_left(agent: Agent, left_at: float | None) -> tuple[str, float] | None:
    """(contact, start) of the wrap-up the agent left at `left_at` (its live state's since),
    when that was its last state change and at most LATE_NOTE_SECONDS ago; None otherwise
    (a new contact since, or the state log not written yet: a note must not land on an
    older contact)."""
    if left_at is None or time.time() - left_at > LATE_NOTE_SECONDS:
        return None
    last = AgentStateChange.objects.filter(agent=agent).order_by("-at", "-id").first()
    if last is None or last.from_state != WRAP_UP:
        return None
    if abs(last.at.timestamp() - left_at) > CLOCK_SLACK_SECONDS:
        return None  # the log has not caught up with the live state
    entered = (
        AgentStateChange.objects.filter(agent=agent, to_state=WRAP_UP, at__lte=last.at)
        .order_by("-at", "-id")
        .first()
    )
    if entered is None or not entered.call_uuid:
        return None
    return entered.call_uuid[:64], entered.at.timestamp()


def _last_contact(agent: Agent) -> str:
    return (
        AgentStateChange.objects.filter(agent=agent, to_state="wrap_up")
        .exclude(call_uuid="")
        .order_by("-at")
        .values_list("call_uuid", flat=True)
        .first()
        or ""
    )
