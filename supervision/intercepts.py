"""Standing intercepts (SV-9): a team leader has every call an agent of its work groups
connects to, from now until a time, listened to from a phone (its own, or one it names).
Ordered, listed and cancelled here (checked against the role and scope, audited); icm rings
the phone and listens on each call (icm.daemon.supervision.intercepts), told to reload after
each change."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.db import transaction

from agents.models import Agent
from agents.placement import switch_of
from icm import client as icm
from icm.models import Extension
from supervision.actions import SupervisionRefused, UnknownTarget, audit
from supervision.models import AuditEntry, StandingIntercept
from supervision.roles import ADMINISTRATOR, may
from supervision.scope import scope_of

log = logging.getLogger(__name__)
ACTION = "intercept"  # the role's right (SV-9); the audit says standing_intercept
LONGEST = timedelta(days=7)


class BadIntercept(ValueError):
    """The order is not well formed; the message says what is expected."""


def _as_dict(row: StandingIntercept) -> dict[str, Any]:
    return {
        "id": row.pk,
        "agent": row.agent.login_id,
        "agent_name": row.agent.name,
        "extension": row.extension,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "ordered_by": row.ordered_by.username if row.ordered_by_id else "",
    }


def order_intercept(user: Any, args: dict[str, Any], address: str | None = None) -> dict[str, Any]:
    """`{agent, until (ISO with its zone), extension?}`: listen to the agent's calls from now
    until `until` (its current call at once)."""
    scope = scope_of(user)
    login_id = str(args.get("agent") or "")[:32]

    def refuse(why: str) -> SupervisionRefused:
        detail = {"why": why, "until": str(args.get("until") or "")[:40]}
        outcome = AuditEntry.Outcome.REFUSED
        audit(user, scope.role, "standing_intercept", "agent", login_id, outcome, detail, address)
        return SupervisionRefused(why)

    if not may(scope.role, ACTION):
        raise refuse("only team leaders and administrators intercept agents' calls")
    if not login_id:
        raise BadIntercept("which agent? give its agent ID as agent")
    if not scope.has_agent(login_id):
        raise refuse(f"agent {login_id} is not in your work groups")
    agent = Agent.objects.filter(login_id=login_id, active=True).first()
    if agent is None:
        raise UnknownTarget(f"no active agent {login_id!r}")
    now = datetime.now(tz=UTC)
    try:
        until = datetime.fromisoformat(str(args.get("until") or ""))
    except ValueError as exc:
        raise BadIntercept(
            "until: the time it ends, ISO 8601 (e.g. 2026-12-07T18:00:00+01:00)"
        ) from exc
    if until.tzinfo is None:
        raise BadIntercept("until needs its time zone (e.g. 2026-12-07T18:00:00+01:00)")
    if not now < until <= now + LONGEST:
        raise BadIntercept("until: a time in the next 7 days")
    extension = _listening_phone(user, str(args.get("extension") or ""))
    if not extension:
        raise refuse("give the extension of the phone that listens")
    with transaction.atomic():
        row = StandingIntercept.objects.create(
            agent=agent, extension=extension, starts_at=now, ends_at=until, ordered_by=user
        )
        detail = {"intercept": row.pk, "extension": extension, "until": until.isoformat()}
        audit(user, scope.role, "standing_intercept", "agent", login_id, "ok", detail, address)
        transaction.on_commit(lambda: _tell_icm(agent))
    return _as_dict(row)


def current_intercepts(user: Any) -> list[dict[str, Any]]:
    """The intercepts in force of the agents `user` may supervise."""
    scope = scope_of(user)
    if not may(scope.role, ACTION):
        raise SupervisionRefused("only team leaders and administrators see intercepts")
    rows = StandingIntercept.objects.filter(
        cancelled_at__isnull=True, ends_at__gt=datetime.now(tz=UTC)
    ).select_related("agent", "ordered_by")
    if scope.role != ADMINISTRATOR:
        rows = rows.filter(agent__login_id__in=scope.agents)
    return [_as_dict(r) for r in rows.order_by("ends_at")]


def cancel_intercept(user: Any, ident: int, address: str | None = None) -> dict[str, Any]:
    scope = scope_of(user)
    row = StandingIntercept.objects.select_related("agent", "ordered_by").filter(pk=ident).first()
    if row is None:
        raise UnknownTarget(f"no standing intercept {ident}")
    login_id = row.agent.login_id
    if not may(scope.role, ACTION) or not scope.has_agent(login_id):
        detail = {"intercept": ident, "why": "not in your scope"}
        audit(user, scope.role, "intercept_cancel", "agent", login_id, "refused", detail, address)
        raise SupervisionRefused(f"agent {login_id} is not in your work groups")
    with transaction.atomic():
        StandingIntercept.objects.filter(pk=ident, cancelled_at__isnull=True).update(
            cancelled_at=datetime.now(tz=UTC)
        )
        row.refresh_from_db(fields=["cancelled_at"])
        detail = {"intercept": ident}
        audit(user, scope.role, "intercept_cancel", "agent", login_id, "ok", detail, address)
        transaction.on_commit(lambda: _tell_icm(row.agent))
    return {**_as_dict(row), "cancelled_at": row.cancelled_at.isoformat()}


def _listening_phone(user: Any, asked: str) -> str:
    """The phone that listens: the one asked (an enabled extension), else the user's own
    agent's."""
    if asked:
        return asked if Extension.objects.filter(number=asked, enabled=True).exists() else ""
    own = Agent.objects.filter(user=user, extension__enabled=True)
    return own.values_list("extension__number", flat=True).first() or ""


def _tell_icm(agent: Agent) -> None:
    try:
        icm.intercepts_reload(switch_of(agent))
    except redis.RedisError as exc:  # icm reads them again at its next start
        log.warning("standing intercepts: icm not told to reload: %s", exc)
