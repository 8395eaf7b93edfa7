"""The wallboard over HTTP: its page (`/wallboard/`, live over `/ws/wallboard/`), its
snapshot as JSON (`GET /api/wallboard/`), and the system event history (SV-14):
`GET /api/supervision/events/` and the page `/supervision/events/`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from icm.models import SystemEvent
from ipbx_project.api_schema import OBJECT, errors, query, since_until
from supervision import wallboard
from supervision.api_schema import SystemEventListSerializer
from supervision.roles import ADMINISTRATOR, TEAM_LEADER, is_supervisor
from supervision.scope import scope_of

EVENTS_LIMIT = 500


def _supervisor_only(user: Any) -> None:
    if not is_supervisor(user):
        raise PermissionDenied("the wallboard is for team leaders and administrators")


@login_required
@ensure_csrf_cookie
def wallboard_page(request: HttpRequest) -> HttpResponse:
    _supervisor_only(request.user)
    return render(request, "supervision/wallboard.html", {})


@extend_schema(responses={200: OBJECT, **errors()})
@api_view(["GET"])
def wallboard_api(request: Request) -> Response:
    try:
        _supervisor_only(request.user)
    except PermissionDenied as exc:
        return Response({"detail": str(exc)}, status=403)
    return Response(wallboard.snapshot(request.user))


def system_events(user: Any, params: Any) -> list[SystemEvent]:
    """The history, newest first, filtered by kind, alarm, subject, since / until (ISO);
    a team leader sees the switch's events and the alarms of its queues and agents."""
    scope = scope_of(user)
    if scope.role not in (ADMINISTRATOR, TEAM_LEADER):
        raise PermissionDenied("the system event history is for team leaders and administrators")
    rows = SystemEvent.objects.all()
    for field in ("kind", "alarm", "subject", "switch"):
        if params.get(field):
            rows = rows.filter(**{field: params[field]})
    for field, lookup in (("since", "at__gte"), ("until", "at__lt")):
        if params.get(field):
            try:
                rows = rows.filter(**{lookup: datetime.fromisoformat(params[field])})
            except ValueError as exc:
                raise ValueError(f"{field}: not an ISO date and time ({params[field]!r})") from exc
    if not scope.everything:
        rows = rows.filter(
            Q(alarm__in=("", "switch"))
            | Q(alarm="not_ready", subject__in=scope.agents)
            | Q(
                alarm__in=("queue_waiting", "queue_wait", "service_level"), subject__in=scope.queues
            )
        )
    return list(rows[:EVENTS_LIMIT])


def _as_dict(row: SystemEvent) -> dict[str, Any]:
    return {
        "at": row.at.isoformat(),
        "switch": row.switch,
        "kind": row.kind,
        "alarm": row.alarm,
        "subject": row.subject,
        "severity": row.severity,
        "text": row.text,
        "raised_at": row.raised_at.isoformat() if row.raised_at else None,
        "lasted_seconds": round((row.at - row.raised_at).total_seconds(), 1)
        if row.raised_at
        else None,
    }


@extend_schema(
    parameters=[
        *(query(f, f"Only events with this {f}") for f in ("kind", "alarm", "subject", "switch")),
        *since_until(),
    ],
    responses={200: SystemEventListSerializer, **errors(400)},
)
@api_view(["GET"])
def events_api(request: Request) -> Response:
    try:
        rows = system_events(request.user, request.query_params)
    except PermissionDenied as exc:
        return Response({"detail": str(exc)}, status=403)
    except ValueError as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response({"events": [_as_dict(r) for r in rows]})


@login_required
def events_page(request: HttpRequest) -> HttpResponse:
    try:
        rows, error = system_events(request.user, request.GET), ""
    except ValueError as exc:
        rows, error = [], str(exc)
    return render(
        request,
        "supervision/events.html",
        {
            "events": [_as_dict(r) | {"row": r} for r in rows],
            "error": error,
            "filters": {
                k: request.GET.get(k, "") for k in ("kind", "alarm", "subject", "since", "until")
            },
            "kinds": SystemEvent.Kind.choices,
        },
    )
