"""Supervisors' recording orders (SV-5) listed and cancelled: a team leader sees and cancels
the orders of its scope's agents, an administrator all; every cancel is audited. A cancelled
order records no further calls (icm reloads orders every 5 s); a call it is recording now is
recorded to its end (whole calls)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from recording.models import RecordOrder
from supervision.actions import SupervisionRefused, UnknownTarget, audit
from supervision.models import AuditEntry
from supervision.roles import ADMINISTRATOR, may
from supervision.scope import scope_of


def _as_dict(order: RecordOrder) -> dict[str, Any]:
    return {
        "id": order.pk,
        "agent": order.agent.login_id,
        "starts_at": order.starts_at.isoformat(),
        "ends_at": order.ends_at.isoformat() if order.ends_at else None,
        "format": order.format,
        "ordered_by": order.ordered_by.username if order.ordered_by_id else "",
    }


def current_orders(user: Any, agent: str = "") -> list[dict[str, Any]]:
    """Orders not cancelled and not over, of the agents `user` may supervise."""
    scope = scope_of(user)
    if not may(scope.role, "record"):
        raise SupervisionRefused("only team leaders and administrators see recording orders")
    now = datetime.now(tz=UTC)
    rows = RecordOrder.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now), cancelled_at__isnull=True
    ).select_related("agent", "ordered_by")
    if scope.role != ADMINISTRATOR:
        rows = rows.filter(agent__login_id__in=scope.agents)
    if agent:
        rows = rows.filter(agent__login_id=agent)
    return [_as_dict(o) for o in rows.order_by("starts_at")]


def cancel_order(user: Any, order_id: int, address: str | None = None) -> dict[str, Any]:
    scope = scope_of(user)
    order = RecordOrder.objects.select_related("agent", "ordered_by").filter(pk=order_id).first()
    if order is None:
        raise UnknownTarget(f"no recording order {order_id}")
    login_id = order.agent.login_id
    if not may(scope.role, "record") or not scope.has_agent(login_id):
        audit(
            user,
            scope.role,
            "record_cancel",
            "agent",
            login_id,
            AuditEntry.Outcome.REFUSED,
            {"order": order_id, "why": "not in your scope"},
            address,
        )
        raise SupervisionRefused(f"agent {login_id} is not in your work groups")
    with transaction.atomic():
        RecordOrder.objects.filter(pk=order_id, cancelled_at__isnull=True).update(
            cancelled_at=datetime.now(tz=UTC)
        )
        order.refresh_from_db(fields=["cancelled_at"])
        audit(
            user,
            scope.role,
            "record_cancel",
            "agent",
            login_id,
            AuditEntry.Outcome.OK,
            {"order": order_id},
            address,
        )
    return {**_as_dict(order), "cancelled_at": order.cancelled_at.isoformat()}
