"""Finding and counting recordings (REC-4): by time, agent, caller number, customer, queue,
disposition and QA score, within what the user may see (recording.access)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from agents.models import ContactNote
from recording.access import visible
from recording.models import Recording

FILTERS = (
    "since",
    "until",
    "agent",
    "number",
    "customer",
    "queue",
    "disposition",
    "min_score",
    "max_score",
)
PAGE = 50


class BadSearch(ValueError):
    """A filter value that cannot be used; the message names it."""


def _time(name: str, value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadSearch(f"{name}: not an ISO date and time ({value!r})") from exc


def _score(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise BadSearch(f"{name}: not a number ({value!r})") from exc


def search(user: Any, params: Any) -> QuerySet[Recording]:
    """The user's recordings matching the filters, newest first."""
    rows = visible(user).select_related("agent", "queue", "customer")
    if params.get("since"):
        rows = rows.filter(started_at__gte=_time("since", params["since"]))
    if params.get("until"):
        rows = rows.filter(started_at__lt=_time("until", params["until"]))
    if params.get("agent"):
        a = params["agent"].strip()
        rows = rows.filter(Q(agent__login_id=a) | Q(agent__name__icontains=a))
    if params.get("number"):
        n = params["number"].strip().lstrip("+")
        rows = rows.filter(Q(ani__contains=n) | Q(dnis__contains=n))
    if params.get("customer"):
        c = params["customer"].strip()
        rows = rows.filter(Q(customer__name__icontains=c) | Q(customer__account=c))
    if params.get("queue"):
        rows = rows.filter(queue__name=params["queue"].strip())
    if params.get("disposition"):
        calls = ContactNote.objects.filter(disposition__code=params["disposition"].strip())
        rows = rows.filter(call_uuid__in=calls.values("call_uuid"))
    if params.get("min_score"):
        rows = rows.filter(qa_score__gte=_score("min_score", params["min_score"]))
    if params.get("max_score"):
        rows = rows.filter(qa_score__lte=_score("max_score", params["max_score"]))
    return rows.order_by("-started_at", "-id")


def as_row(r: Recording) -> dict[str, Any]:
    return {
        "id": r.pk,
        "call_uuid": r.call_uuid,
        "ani": r.ani,
        "dnis": r.dnis,
        "agent": r.agent.login_id if r.agent_id else "",
        "agent_name": r.agent.name if r.agent_id else "",
        "queue": r.queue.name if r.queue_id else "",
        "customer": r.customer.name if r.customer_id else "",
        "started_at": r.started_at.isoformat(),
        "duration": r.duration_seconds,
        "paused": r.paused_seconds,
        "format": r.format,
        "channels": r.channels,
        "sample_rate": r.sample_rate,
        "size": r.size_bytes,
        "sha256": r.sha256,
        "status": r.status,
        "legal_hold": r.legal_hold,
        "qa_score": r.qa_score,
        "policy": r.policy,
    }
