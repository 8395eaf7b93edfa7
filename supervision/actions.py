"""Supervisor controls on agents and calls (SV-3, SV-5, SV-6, SV-9, SV-10, SV-11): checked
against the user's role and scope, carried out by icm, and every attempt — done, refused or failed —
written to the audit log."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db.models import Q

from agents.models import Agent
from agents.placement import switch_of
from agents.reasons import SUPERVISOR_REASON, UnknownReason, check_state_reason
from icm import client as icm
from icm.actions import check_agent_state
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.commands import CommandError
from icm.domain.recording_policy import FORMATS
from icm.models import Call, Extension
from recording.models import RecordOrder
from supervision.models import AuditEntry
from supervision.roles import MONITOR_MODES, may
from supervision.scope import scope_of

log = logging.getLogger(__name__)


class SupervisionRefused(PermissionError):
    """Not allowed for this user (role or scope); the message says why."""


class UnknownTarget(LookupError):
    """No such agent (or it is inactive)."""


def audit(
    user: Any,
    role: str,
    action: str,
    target_kind: str,
    target: str,
    outcome: str,
    detail: dict[str, Any] | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Write one audit entry (who, what, target, when, outcome)."""
    entry = AuditEntry.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        username=getattr(user, "username", "") or "anonymous",
        role=role,
        action=action,
        target_kind=target_kind,
        target=target[:128],
        outcome=outcome,
        detail=detail or {},
        address=address,
    )
    log.info(
        "audit: %s (%s) %s %s %s: %s", entry.username, role, action, target_kind, target, outcome
    )
    return entry


def act_on_agent(
    user: Any, action: str, login_id: str, args: dict[str, Any], address: str | None = None
) -> dict[str, Any]:
    """Force sign-out / ready / not ready, or release the agent's call."""
    scope = scope_of(user)
    detail = {k: str(v)[:64] for k, v in args.items() if k in ("reason", "extension")}

    def refuse(why: str) -> SupervisionRefused:
        audit(
            user,
            scope.role,
            action,
            "agent",
            login_id,
            AuditEntry.Outcome.REFUSED,
            {**detail, "why": why},
            address,
        )
        return SupervisionRefused(why)

    if not may(scope.role, action):
        raise refuse(f"your role may not {action.replace('_', ' ')}")
    if not scope.has_agent(login_id):
        raise refuse(f"agent {login_id} is not in your work groups")
    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("extension").first()
    if agent is None:
        raise UnknownTarget(f"no active agent {login_id!r}")
    try:  # a configured code, or none (then SUPERVISOR_REASON), like the agent's own
        reason = check_state_reason(
            "not_ready" if action == "force_not_ready" else action, args.get("reason")
        )
    except UnknownReason as exc:
        raise refuse(str(exc)) from exc
    switch = switch_of(agent)
    extension = ""
    if action == "record":
        return _record_agent(user, scope.role, agent, switch, args, detail, address, refuse)
    if action == "listen_browser":
        return _listen_in_browser(user, scope.role, agent, switch, detail, address)
    if action == "intercept":
        extension = _qa_desk(str(args.get("extension") or ""))
        if not extension:
            raise refuse("no QA desk: give its extension or set IPBX_QA_DESK_EXTENSION")
        detail["extension"] = extension
    if action in MONITOR_MODES:
        extension = _supervisor_phone(user, str(args.get("extension") or ""))
        if not extension:
            raise refuse("give the extension of the phone to listen on")
        detail["extension"] = extension
    try:
        if action in MONITOR_MODES:
            result = icm.monitor(switch, login_id, extension, MONITOR_MODES[action])
        elif action == "intercept":
            note = f"intercepted by {getattr(user, 'username', '')} for quality assurance"
            result = icm.agent_call(
                switch, login_id, "transfer", kind="extension", target=extension, note=note
            )
        elif action == "force_release":
            result = icm.agent_call(switch, login_id, "hangup")
        else:
            state = {
                "force_logout": "logout",
                "force_ready": "ready",
                "force_not_ready": "not_ready",
            }[action]
            result = check_agent_state(switch, login_id, state, reason or SUPERVISOR_REASON)
    except CommandError as exc:
        audit(
            user,
            scope.role,
            action,
            "agent",
            login_id,
            AuditEntry.Outcome.FAILED,
            {**detail, "why": str(exc)},
            address,
        )
        raise
    audit(user, scope.role, action, "agent", login_id, AuditEntry.Outcome.OK, detail, address)
    return result


def _record_agent(
    user: Any,
    role: str,
    agent: Agent,
    switch: str,
    args: dict[str, Any],
    detail: dict[str, Any],
    address: str | None,
    refuse: Any,
) -> dict[str, Any]:
    """SV-5: record the agent's calls from now (or `starts_at`, ISO) for `minutes` (none:
    until cancelled), and its current call at once when it is on one."""
    try:
        starts = (
            datetime.fromisoformat(str(args["starts_at"]))
            if args.get("starts_at")
            else (datetime.now(tz=UTC))
        )
        minutes = float(args["minutes"]) if args.get("minutes") not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise refuse("starts_at is an ISO time and minutes a number") from exc
    if starts.tzinfo is None:
        raise refuse("starts_at needs its time zone (e.g. 2026-12-01T14:00:00+01:00)")
    if minutes is not None and not 0 < minutes <= 24 * 60:
        raise refuse("minutes: 1 to 1440 (or none: until cancelled)")
    fmt = str(args.get("format") or "pcm")
    if fmt not in FORMATS:
        raise refuse(f"format: one of {', '.join(FORMATS)}")
    ends = starts + timedelta(minutes=minutes) if minutes else None
    order = RecordOrder.objects.create(
        agent=agent,
        starts_at=starts,
        ends_at=ends,
        format=fmt,
        ordered_by=user if getattr(user, "is_authenticated", False) else None,
    )
    detail.update(
        order=order.pk,
        starts_at=starts.isoformat(),
        ends_at=ends.isoformat() if ends else "until cancelled",
        format=fmt,
    )
    current = ""
    if starts <= datetime.now(tz=UTC):
        try:  # the call it is on now, from now
            done = icm.agent_call(switch, agent.login_id, "record_start", format=fmt, why="order")
            current = str(done.get("path", ""))
        except CommandError as exc:
            current = ""  # not on a call (or already recorded): the order covers its next calls
            detail["now"] = str(exc)[:100]
    audit(user, role, "record", "agent", agent.login_id, AuditEntry.Outcome.OK, detail, address)
    return {
        "agent": agent.login_id,
        "order": order.pk,
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat() if ends else None,
        "recording_now": bool(current),
    }


def _listen_in_browser(
    user: Any, role: str, agent: Agent, switch: str, detail: dict[str, Any], address: str | None
) -> dict[str, Any]:
    """REC-3: tap the agent's call; the socket the browser streams it from."""
    from supervision import listen  # (numpy: loaded only when a supervisor listens)

    tap = secrets.token_urlsafe(18)
    try:
        started = icm.live_listen(switch, agent.login_id, tap)
    except CommandError as exc:
        audit(
            user,
            role,
            "listen_browser",
            "agent",
            agent.login_id,
            AuditEntry.Outcome.FAILED,
            {**detail, "why": str(exc)},
            address,
        )
        raise
    listen.register(tap, user.pk, switch, started)
    detail.update(call=str(started.get("call_uuid", "")), tap=tap[:8])
    audit(
        user,
        role,
        "listen_browser",
        "agent",
        agent.login_id,
        AuditEntry.Outcome.OK,
        detail,
        address,
    )
    return {
        "agent": agent.login_id,
        "tap": tap,
        "socket": f"/ws/listen/{tap}/",
        "call_uuid": started.get("call_uuid", ""),
    }


def _qa_desk(asked: str) -> str:
    """The QA desk's extension: the one asked (an enabled extension), else the configured."""
    number = asked or settings.IPBX_QA_DESK_EXTENSION
    return number if Extension.objects.filter(number=number, enabled=True).exists() else ""


def _supervisor_phone(user: Any, asked: str) -> str:
    """The extension a supervisor listens on: the one asked (an enabled extension), else its
    own agent's."""
    if asked:
        return asked if Extension.objects.filter(number=asked, enabled=True).exists() else ""
    own = (
        Agent.objects.filter(user=user, extension__enabled=True)
        .values_list("extension__number", flat=True)
        .first()
    )
    return own or ""


def assign_call(
    user: Any, queue: str, contact: str, login_id: str, address: str | None = None
) -> dict[str, Any]:
    """SV-7: offer a caller waiting in `queue` to the chosen agent now (the ACD's pick; the
    agent must be free). Both the queue and the agent must be in the supervisor's scope, and
    the caller must really wait in that queue (not in another team's the agent also serves)."""
    scope = scope_of(user)
    detail = {"contact": contact[:64], "agent": login_id[:32]}

    def refuse(why: str) -> SupervisionRefused:
        audit(
            user,
            scope.role,
            "assign_call",
            "queue",
            queue,
            AuditEntry.Outcome.REFUSED,
            {**detail, "why": why},
            address,
        )
        return SupervisionRefused(why)

    if not may(scope.role, "assign_call"):
        raise refuse("your role may not assign calls")
    if not scope.has_queue(queue):
        raise refuse(f"queue {queue} is not one of your work groups'")
    if not scope.has_agent(login_id):
        raise refuse(f"agent {login_id} is not in your work groups")
    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("extension").first()
    if agent is None:
        raise UnknownTarget(f"no active agent {login_id!r}")
    switch = switch_of(agent)
    waits_in = waiting_queue(switch, contact)
    if waits_in != queue:
        detail["waits_in"] = waits_in or ""
        raise refuse(f"caller {contact[:64]} is not waiting in queue {queue}")
    try:
        result = icm.agent_pick(switch, login_id, contact, queue)  # icm checks it again
    except CommandError as exc:
        audit(
            user,
            scope.role,
            "assign_call",
            "queue",
            queue,
            AuditEntry.Outcome.FAILED,
            {**detail, "why": str(exc)},
            address,
        )
        raise
    audit(user, scope.role, "assign_call", "queue", queue, AuditEntry.Outcome.OK, detail, address)
    return result


def waiting_queue(switch: str, contact: str) -> str | None:
    """The queue the caller `contact` (an ACD contact: its leg's UUID) waits in on `switch`,
    whatever a URL says: the ACD's list of waiting callers that icm publishes, else the live
    call it belongs to, else its stored call. None: not known to be in any queue."""
    if not contact:
        return None
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.get(keys.queues_key(switch))
        pipe.hget(keys.calls_key(switch), contact)
        figures, live = pipe.execute()
    except redis.RedisError as exc:  # icm is unreachable too: the stored call still tells
        log.warning("assign: live queues of %s unavailable: %s", switch, exc)
        figures, live = None, None
    for name, tile in (json.loads(figures) if figures else {}).items():
        if any(c.get("contact") == contact for c in tile.get("callers") or ()):
            return str(name)
    if live:
        return str(json.loads(live).get("queue") or "") or None
    stored = (
        Call.objects.filter(Q(call_uuid=contact) | Q(legs__uuid=contact))
        .order_by("-created_at")
        .values_list("queue__name", flat=True)
        .first()
    )
    return stored or None
