"""REST API of scheduled call-backs (AG-17): list and book an agent's, cancel one."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from agents import callbacks, placement
from agents.api_schema import CallbackBookingSerializer, CallbackListSerializer, CallbackSerializer
from agents.models import Agent
from icm.models import Customer
from ipbx_project.api_schema import errors
from supervision.scope import may_control_agent

BOOK_SHAPE = (
    '{"number": "…", "due_at": "2026-12-02T15:30:00+01:00", "note": "…", '
    '"queue": "<queue name>", "account": "<customer account>"}'
)


class BadBody(ValueError):
    """The request body is not what the endpoint takes; the message says what is."""


@extend_schema(methods=["GET"], responses={200: CallbackListSerializer, **errors(404)})
@extend_schema(
    methods=["POST"],
    request=CallbackBookingSerializer,
    responses={201: CallbackSerializer, **errors(400, 404, 409)},
)
@api_view(["GET", "POST"])
def agent_callbacks(request: Request, login_id: str) -> Response:
    """GET the agent's upcoming call-backs; POST books one for it. The agent itself or users
    allowed to control agents; the dialing rules apply to the number (AG-16)."""
    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("extension").first()
    if agent is None:
        return Response({"detail": f"no active agent {login_id!r}"}, status=404)
    if not may_control_agent(request.user, login_id):
        return Response({"detail": "you may not manage this agent's call-backs"}, status=403)
    if request.method == "GET":
        return Response({"callbacks": callbacks.for_agent(agent)})
    own = placement.agent_of(request.user)
    try:
        fields = _booking(request.data)
        callback = callbacks.book(
            agent=agent, booked_by=own, **fields, source="agent" if own == agent else "api"
        )
    except BadBody as exc:
        return Response({"detail": f"{exc}; send {BOOK_SHAPE}"}, status=400)
    except callbacks.CallbackForbidden as exc:
        return Response({"detail": str(exc)}, status=403)
    except callbacks.CallbackConflict as exc:
        return Response({"detail": str(exc)}, status=409)
    except callbacks.CallbackRefused as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(callbacks.as_dict(callback), status=201)


@extend_schema(responses={200: CallbackSerializer, **errors(404, 409)})
@api_view(["GET", "DELETE"])
def callback_detail(request: Request, callback_id: int) -> Response:
    """GET one call-back; DELETE cancels it while it is pending."""
    try:
        callback = callbacks.access_callback(request.user, callback_id)
        if request.method == "DELETE":
            callback = callbacks.cancel(callback.pk)
    except callbacks.CallbackNotFound as exc:
        return Response({"detail": str(exc)}, status=404)
    except callbacks.CallbackForbidden as exc:
        return Response({"detail": str(exc)}, status=403)
    except callbacks.CallbackConflict as exc:
        return Response({"detail": str(exc)}, status=409)
    return Response(callbacks.as_dict(callback))


def _booking(data: Any) -> dict[str, Any]:
    """book()'s keyword arguments from a request body, or BadBody."""
    if not isinstance(data, dict):
        raise BadBody("the body must be a JSON object")
    number, due, note = data.get("number"), data.get("due_at"), data.get("note", "")
    queue, account = data.get("queue") or None, data.get("account") or None
    if not isinstance(number, str):
        raise BadBody("give the customer's number as a string")
    if not isinstance(due, str):
        raise BadBody("give the call-back time as due_at, an ISO 8601 string")
    try:
        due_at = parse_datetime(due)
    except ValueError:
        due_at = None
    if due_at is None:
        raise BadBody(f"due_at {due[:40]!r} is not an ISO 8601 date and time")
    for name, value in (("note", note), ("queue", queue), ("account", account)):
        if value is not None and not isinstance(value, str):
            raise BadBody(f"{name} must be a string")
    customer = None
    if account:
        customer = Customer.objects.filter(account=account).first()
        if customer is None:
            raise BadBody(f"there is no customer with account {account[:64]!r}")
    return {"number": number, "due_at": due_at, "note": note, "queue": queue, "customer": customer}
