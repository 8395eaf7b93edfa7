"""Supervision over HTTP: controls on agents (`POST /api/supervision/agents/<id>/<action>/`)
and the audit log (`GET /api/supervision/audit/` and the page `/supervision/audit/`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from icm.bus.commands import CommandError, IcmUnavailable
from ipbx_project.api_schema import OBJECT, errors, query, since_until
from supervision import api_schema as shapes
from supervision import workgroups
from supervision.actions import SupervisionRefused, UnknownTarget, act_on_agent
from supervision.models import AuditEntry
from supervision.roles import ACTIONS, ADMINISTRATOR, AGENT_ACTIONS, TEAM_LEADER, role_of

FILTERS = ("username", "action", "target", "outcome")
AUDIT_LIMIT = 500


@extend_schema(
    request=shapes.AgentActionSerializer,
    parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=sorted(AGENT_ACTIONS))],
    responses={200: OBJECT, **errors(400, 404, 409, 503)},
)
@api_view(["POST"])
def agent_action(request: Request, login_id: str, action: str) -> Response:
    """POST {reason?, extension?}: force_logout, force_ready, force_not_ready, force_release,
    monitor, whisper, barge, intercept."""
    if action not in AGENT_ACTIONS:
        return Response(
            {"detail": f"unknown action {action!r} (one of {sorted(AGENT_ACTIONS)})"}, status=404
        )
    if not isinstance(request.data, dict):
        return Response({"detail": 'send a JSON object, e.g. {"reason": "meeting"}'}, status=400)
    return _answer(
        lambda: act_on_agent(
            request.user, action, login_id, dict(request.data), request.META.get("REMOTE_ADDR")
        )
    )


def _answer(control: Any) -> Response:
    """Run a supervisor control; its refusals as HTTP answers (403 not allowed, 404 no such
    target, 503 icm unreachable, 409 icm refused)."""
    try:
        result = control()
    except SupervisionRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except UnknownTarget as exc:
        return Response({"detail": str(exc)}, status=404)
    except IcmUnavailable as exc:
        return Response({"detail": str(exc)}, status=503)
    except CommandError as exc:
        return Response({"detail": str(exc)}, status=409)
    return Response(result)


def audit_entries(user: Any, params: Any) -> list[AuditEntry]:
    """The audit log filtered by ?username=&action=&target=&outcome=&since=&until= (ISO);
    administrators see every entry, team leaders their own actions."""
    role = role_of(user)
    if role not in (ADMINISTRATOR, TEAM_LEADER):
        raise PermissionDenied("only team leaders and administrators see the audit log")
    rows = AuditEntry.objects.all()
    if role == TEAM_LEADER:
        rows = rows.filter(user=user)
    for name in FILTERS:
        if params.get(name):
            rows = rows.filter(**{name: params[name]})
    for name, lookup in (("since", "at__gte"), ("until", "at__lt")):
        if params.get(name):
            try:
                rows = rows.filter(**{lookup: datetime.fromisoformat(params[name])})
            except ValueError as exc:
                raise ValueError(f"{name} must be an ISO date-time") from exc
    return list(rows[:AUDIT_LIMIT])


def _as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "username": entry.username,
        "role": entry.role,
        "action": entry.action,
        "target_kind": entry.target_kind,
        "target": entry.target,
        "outcome": entry.outcome,
        "detail": entry.detail,
        "address": entry.address,
    }


@extend_schema(
    parameters=[*(query(f, f"Only entries with this {f}") for f in FILTERS), *since_until()],
    responses={200: shapes.AuditLogSerializer, **errors(400)},
)
@api_view(["GET"])
def audit_api(request: Request) -> Response:
    try:
        entries = audit_entries(request.user, request.query_params)
    except PermissionDenied as exc:
        return Response({"detail": str(exc)}, status=403)
    except ValueError as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response({"entries": [_as_dict(e) for e in entries]})


@login_required
def audit_page(request: HttpRequest) -> HttpResponse:
    try:
        entries = audit_entries(request.user, request.GET)
        error = ""
    except ValueError as exc:
        entries, error = [], str(exc)
    return render(
        request,
        "supervision/audit.html",
        {
            "entries": entries,
            "error": error,
            "filters": {k: request.GET.get(k, "") for k in (*FILTERS, "since", "until")},
            "actions": sorted(
                {
                    *ACTIONS,
                    *workgroups.ACTIONS,
                    *AuditEntry.objects.values_list("action", flat=True).distinct(),
                }
            ),
            "outcomes": AuditEntry.Outcome.choices,
        },
    )


@extend_schema(request=shapes.BulletinSerializer, responses={201: OBJECT, **errors(400)})
@api_view(["POST"])
def bulletin_send(request: Request) -> Response:
    """POST {text, to: {kind: all|group|agent, target}, priority?}: send a bulletin (SV-12)."""
    from supervision import bulletins

    body = request.data if isinstance(request.data, dict) else None
    to = body.get("to") if body else None
    if body is None or not isinstance(to, dict):
        return Response(
            {"detail": 'send {"text": "…", "to": {"kind": "group", "target": "<work group>"}}'},
            status=400,
        )
    try:
        sent = bulletins.send(
            request.user,
            str(body.get("text", "")),
            str(to.get("kind", "")),
            str(to.get("target", "")),
            str(body.get("priority", "normal")),
            address=request.META.get("REMOTE_ADDR"),
        )
    except SupervisionRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except bulletins.BulletinRefused as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(bulletins.receipts(request.user, sent.pk), status=201)


@extend_schema(responses={200: OBJECT, **errors(404)})
@api_view(["GET"])
def bulletin_receipts(request: Request, bulletin_id: int) -> Response:
    """GET who received the bulletin and who read it when."""
    from supervision import bulletins

    try:
        return Response(bulletins.receipts(request.user, bulletin_id))
    except SupervisionRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except bulletins.BulletinRefused as exc:
        return Response({"detail": str(exc)}, status=404)


@extend_schema(
    request=shapes.AssignSerializer, responses={200: OBJECT, **errors(400, 404, 409, 503)}
)
@api_view(["POST"])
def assign_call(request: Request, queue: str) -> Response:
    """POST {contact, agent}: the waiting caller goes to that agent now (SV-7)."""
    from supervision.actions import assign_call as assign

    body = request.data if isinstance(request.data, dict) else {}
    contact, agent = str(body.get("contact", "")), str(body.get("agent", ""))
    if not contact or not agent:
        return Response(
            {"detail": 'send {"contact": "<waiting caller>", "agent": "<agent ID>"}'}, status=400
        )
    return _answer(
        lambda: assign(request.user, queue, contact, agent, request.META.get("REMOTE_ADDR"))
    )


@extend_schema(
    parameters=[query("agent", "Only this agent's orders")],
    responses={200: OBJECT, **errors(404, 409, 503)},
)
@api_view(["GET"])
def record_orders_api(request: Request) -> Response:
    """GET ?agent=: the current recording orders (SV-5) of the user's scope."""
    from supervision.record_orders import current_orders

    return _answer(
        lambda: {"orders": current_orders(request.user, str(request.query_params.get("agent", "")))}
    )


@extend_schema(request=None, responses={200: OBJECT, **errors(404, 409, 503)})
@api_view(["POST"])
def record_order_cancel_api(request: Request, order_id: int) -> Response:
    from supervision.record_orders import cancel_order

    return _answer(lambda: cancel_order(request.user, order_id, request.META.get("REMOTE_ADDR")))
