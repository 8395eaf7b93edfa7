"""Bulletins (SV-12): a supervisor's notice to all its agents, one work group or one agent,
shown on the targeted desktops at once, with read receipts.

Delivery: the recipients are resolved when it is sent (who was in the group then), a
receipt row each; a `bulletin` event on the bus (`keys.events_channel`, no sequence number: a
desktop that misses it finds it in its next snapshot, which lists its unread bulletins) names
them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.models import Agent, WorkGroup
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.events import BulletinSent, bulletin_event
from supervision.actions import SupervisionRefused, audit
from supervision.models import AuditEntry, Bulletin, BulletinReceipt
from supervision.roles import ADMINISTRATOR, TEAM_LEADER
from supervision.scope import scope_of

log = logging.getLogger(__name__)
KINDS = ("all", "group", "agent")
TEXT_MAX = 1000


class BulletinRefused(ValueError):
    """A bulletin that cannot be sent as asked; the message says why."""


def send(
    user: Any,
    text: str,
    kind: str,
    target: str = "",
    priority: str = "normal",
    expires_at: datetime | None = None,
    address: str | None = None,
) -> Bulletin:
    """Send a bulletin; team leaders reach their own work groups' agents only."""
    scope = scope_of(user)
    text = (text or "").strip()
    if not text or len(text) > TEXT_MAX:
        raise BulletinRefused(f"a bulletin says something, in at most {TEXT_MAX} characters")
    if kind not in KINDS:
        raise BulletinRefused(f"send it to {' / '.join(KINDS)}")
    if priority not in Bulletin.Priority.values:
        raise BulletinRefused(f"priority is one of {', '.join(Bulletin.Priority.values)}")
    if scope.role not in (TEAM_LEADER, ADMINISTRATOR):
        audit(
            user,
            scope.role,
            "bulletin",
            kind,
            target,
            AuditEntry.Outcome.REFUSED,
            {"why": "not a supervisor"},
            address,
        )
        raise SupervisionRefused("only team leaders and administrators send bulletins")
    agents = Agent.objects.filter(active=True)
    if kind == "group":
        group = WorkGroup.objects.filter(name=target).first()
        if group is None:
            raise BulletinRefused(f"there is no work group {target!r}")
        if not scope.everything and not group.leaders.filter(pk=user.pk).exists():
            audit(
                user,
                scope.role,
                "bulletin",
                kind,
                target,
                AuditEntry.Outcome.REFUSED,
                {"why": "not your work group"},
                address,
            )
            raise SupervisionRefused(f"work group {target} is not one you lead")
        agents = agents.filter(work_groups=group)
    elif kind == "agent":
        if not scope.has_agent(target):
            audit(
                user,
                scope.role,
                "bulletin",
                kind,
                target,
                AuditEntry.Outcome.REFUSED,
                {"why": "not in scope"},
                address,
            )
            raise SupervisionRefused(f"agent {target} is not in your work groups")
        agents = agents.filter(login_id=target)
        if not agents.exists():
            raise BulletinRefused(f"there is no active agent {target!r}")
    elif not scope.everything:
        agents = agents.filter(login_id__in=scope.agents)  # "all" of a team leader: its teams
    recipients = list(agents.distinct())
    with transaction.atomic():
        bulletin = Bulletin.objects.create(
            author=user,
            author_name=user.get_full_name() or user.username,
            text=text,
            priority=priority,
            target_kind=kind,
            target=target,
            expires_at=expires_at,
        )
        BulletinReceipt.objects.bulk_create(
            [BulletinReceipt(bulletin=bulletin, agent=a) for a in recipients]
        )
    audit(
        user,
        scope.role,
        "bulletin",
        kind,
        target or "all",
        AuditEntry.Outcome.OK,
        {"bulletin": bulletin.pk, "recipients": len(recipients)},
        address,
    )
    event = bulletin_event(
        BulletinSent(**as_dict(bulletin), agents=[a.login_id for a in recipients])
    )
    try:
        bus = get_redis()
        bus.publish(keys.events_channel(bus), json.dumps(event))
    except Exception:
        log.warning(
            "bulletin %s: live delivery failed; desktops get it on refresh",
            bulletin.pk,
            exc_info=True,
        )
    return bulletin


def as_dict(bulletin: Bulletin) -> dict[str, Any]:
    expires = bulletin.expires_at.isoformat() if bulletin.expires_at else None
    return {
        "id": bulletin.pk,
        "text": bulletin.text,
        "priority": bulletin.priority,
        "from": bulletin.author_name,
        "at": bulletin.created_at.isoformat(),
        "expires_at": expires,
    }


def unread_for(agent: Agent) -> list[dict[str, Any]]:
    """The agent's unread, unexpired bulletins, newest first (for its desktop's snapshot)."""
    now = timezone.now()
    rows = (
        BulletinReceipt.objects.filter(agent=agent, read_at__isnull=True)
        .select_related("bulletin")
        .order_by("-bulletin__created_at")[:20]
    )
    return [
        as_dict(r.bulletin)
        for r in rows
        if r.bulletin.expires_at is None or r.bulletin.expires_at > now
    ]


def mark_read(agent: Agent, bulletin_id: int) -> dict[str, Any]:
    """The agent read it (its own receipt only)."""
    receipt = BulletinReceipt.objects.filter(agent=agent, bulletin_id=bulletin_id).first()
    if receipt is None:
        raise BulletinRefused("no such bulletin for you")
    if receipt.read_at is None:
        receipt.read_at = timezone.now()
        receipt.save(update_fields=["read_at"])
    return {"id": bulletin_id, "read_at": receipt.read_at.isoformat()}


def receipts(user: Any, bulletin_id: int) -> dict[str, Any]:
    """Who got the bulletin and who read it when (its author, or an administrator)."""
    bulletin = Bulletin.objects.filter(pk=bulletin_id).first()
    if bulletin is None:
        raise BulletinRefused(f"no bulletin {bulletin_id}")
    if scope_of(user).role != ADMINISTRATOR and bulletin.author_id != user.pk:
        raise SupervisionRefused("only its author or an administrator sees its receipts")
    rows = bulletin.receipts.select_related("agent").order_by("agent__login_id")
    return {
        **as_dict(bulletin),
        "receipts": [
            {
                "agent": r.agent.login_id,
                "name": r.agent.name,
                "read_at": r.read_at.isoformat() if r.read_at else None,
            }
            for r in rows
        ],
    }
