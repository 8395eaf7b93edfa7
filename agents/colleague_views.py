"""The API of an agent's colleagues (AG-8, AG-19, AG-23): call one by agent ID, listen to or
barge into one's call (with the permission), and the address book."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.client import client_address
from agents import colleagues
from agents.address_book import address_book
from agents.api_schema import CallAgentSerializer, MonitorColleagueSerializer
from agents.models import Agent
from icm.bus.commands import CommandError, IcmUnavailable
from ipbx_project.api_schema import OBJECT, errors, query
from supervision.scope import may_control_agent


def _agent(login_id: str) -> Agent | None:
    return Agent.objects.filter(login_id=login_id, active=True).select_related("extension").first()


def _body(request: Request) -> dict[str, Any]:
    return request.data if isinstance(request.data, dict) else {}


def _run(call: Callable[..., dict[str, Any]], *args: Any) -> Response:
    """One colleagues action, its refusals as HTTP answers."""
    try:
        return Response(call(*args))
    except colleagues.BadColleagueRequest as exc:
        return Response({"detail": str(exc)}, status=400)
    except colleagues.ColleagueRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except colleagues.ColleagueNotFound as exc:
        return Response({"detail": str(exc)}, status=404)
    except IcmUnavailable as exc:
        return Response({"detail": str(exc)}, status=503)
    except CommandError as exc:  # icm: not signed in, busy, not on a call …
        return Response({"detail": str(exc)}, status=409)


@extend_schema(request=CallAgentSerializer, responses={200: OBJECT, **errors(400, 404, 409, 503)})
@api_view(["POST"])
def call_agent(request: Request, login_id: str) -> Response:
    """POST {target}: ring the agent's phone, then its colleague's (AG-8). The agent itself,
    or users allowed to act for it; 409 when the colleague is not signed in or busy."""
    agent = _agent(login_id)
    if agent is None:
        return Response({"detail": f"no active agent {login_id!r}"}, status=404)
    if not may_control_agent(request.user, login_id):
        return Response({"detail": "you may not call for this agent"}, status=403)
    return _run(colleagues.call_colleague, agent, _body(request).get("target"))


@extend_schema(
    request=MonitorColleagueSerializer, responses={200: OBJECT, **errors(400, 404, 409, 503)}
)
@api_view(["POST"])
def monitor_colleague(request: Request, login_id: str) -> Response:
    """POST {target, mode: listen|barge}: the agent's phone listens to (or barges into) a
    teammate's call (AG-19). Only the agent itself, holding the permission; audited."""
    agent = _agent(login_id)
    if agent is None:
        return Response({"detail": f"no active agent {login_id!r}"}, status=404)
    if agent.user_id is None or agent.user_id != request.user.pk:
        return Response({"detail": "only the agent itself listens from its phone"}, status=403)
    body = _body(request)
    address = client_address(request)
    return _run(colleagues.monitor_colleague, agent, body.get("target"), body.get("mode"), address)


@extend_schema(
    parameters=[query("q", "A part of a name, an agent ID or a number")],
    responses={200: OBJECT, **errors(404)},
)
@api_view(["GET"])
def agent_address_book(request: Request, login_id: str) -> Response:
    """GET the agent's address book (AG-23): colleagues with their live state, extensions,
    its frequent numbers and the shared entries; `?q=` filters every section."""
    agent = _agent(login_id)
    if agent is None:
        return Response({"detail": f"no active agent {login_id!r}"}, status=404)
    if not may_control_agent(request.user, login_id):
        return Response({"detail": "you may not read this agent's address book"}, status=403)
    return Response(address_book(agent, str(request.query_params.get("q", ""))))
