"""REST API of an agent's blind transfer (AG-9, AG-13): `POST /api/agents/<ID>/transfer/`
sends the customer of the agent's call to a queue, another agent, an extension or a number,
as the desktop's transfer form does (agents.actions checks it, icm carries it out)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from agents import placement
from agents.actions import DesktopRefused, check_desktop_command
from agents.models import Agent
from icm.bus.commands import CommandError, IcmUnavailable
from ipbx_project.api_schema import OBJECT, errors
from supervision.scope import may_control_agent

SHAPE = '{"kind": "queue|agent|extension|number", "target": "…", "note": "…"}'


@extend_schema(
    request=inline_serializer(
        "TransferRequest",
        {
            "kind": serializers.ChoiceField(["queue", "agent", "extension", "number"]),
            "target": serializers.CharField(),
            "note": serializers.CharField(required=False),
        },
    ),
    responses={200: OBJECT, **errors(400, 403, 404, 409, 503)},
)
@api_view(["POST"])
def transfer(request: Request, login_id: str) -> Response:
    """POST: blind-transfer the customer of the agent's call; the agent wraps up. The agent
    itself or users allowed to control it. 400 with the reason when the target cannot take
    it (unknown or not-ready agent, a number refused by the dialing rules): the call stays."""
    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("extension").first()
    if agent is None:
        return Response({"detail": f"no active agent {login_id!r}"}, status=404)
    if not may_control_agent(request.user, login_id):
        return Response({"detail": "you may not transfer this agent's call"}, status=403)
    data = request.data if isinstance(request.data, dict) else {}
    if not all(isinstance(data.get(k), str) for k in ("kind", "target")):
        return Response({"detail": f"send {SHAPE}"}, status=400)
    args = {k: data[k] for k in ("kind", "target", "note") if isinstance(data.get(k), str)}
    try:
        done = check_desktop_command(agent, placement.switch_of(agent), "transfer", args)
    except DesktopRefused as exc:
        return Response({"detail": str(exc)}, status=400)
    except IcmUnavailable as exc:
        return Response({"detail": str(exc)}, status=503)
    except CommandError as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(done)
