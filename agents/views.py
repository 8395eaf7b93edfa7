"""The agent desktop's pages (sign in with agent ID and phone-bar password, AG-1; the
desktop itself) and its snapshot API."""

from __future__ import annotations

import logging

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.backends import PATH as THROTTLED_BACKEND
from accounts.client import client_address
from agents import desktop, placement
from agents.actions import check_desktop_command
from agents.api_schema import DialSerializer
from agents.dialing import DialRefused, check_dial
from agents.models import Agent
from agents.phone_bar import PhoneBarRefused, check_phone_bar_sign_in
from icm.bus.commands import CommandError, IcmUnavailable
from ipbx_project.api_schema import OBJECT, errors
from supervision.scope import may_control_agent

log = logging.getLogger(__name__)


def desktop_page(request: HttpRequest) -> HttpResponse:
    agent = placement.agent_of(request.user)
    if agent is None:
        return render(request, "agents/sign_in.html", {"error": request.GET.get("error", "")})
    return render(request, "agents/desktop.html", {"agent": agent})


@require_POST
def sign_in(request: HttpRequest) -> HttpResponse:
    """Agent ID + phone-bar password; then the agent is signed in to the ACD, not ready.

    Tries are limited per agent ID and client address (shared by every process), and the
    phone-bar password never opens a supervisor's or administrator's session (agents.phone_bar).
    """
    login_id = request.POST.get("agent_id", "").strip()[:32]
    password = request.POST.get("password", "")
    try:
        agent = check_phone_bar_sign_in(login_id, password, client_address(request))
    except PhoneBarRefused as refused:
        return render(
            request, "agents/sign_in.html", {"error": refused.message}, status=refused.status
        )
    login(request, agent.user, backend=THROTTLED_BACKEND)
    try:
        check_desktop_command(agent, placement.switch_of(agent), "login_not_ready", {})
    except CommandError as exc:
        log.warning("agent %s: ACD sign-in failed: %s", login_id, exc)
    return redirect("agent-desktop")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    agent = placement.agent_of(request.user)
    if agent is not None:
        try:
            check_desktop_command(agent, placement.switch_of(agent), "logout", {})
        except CommandError as exc:
            log.warning("agent %s: ACD sign-out failed: %s", agent.login_id, exc)
    logout(request)
    return redirect("agent-desktop")


@extend_schema(responses={200: OBJECT, **errors()})
@api_view(["GET"])
def desktop_snapshot(request: Request) -> Response | JsonResponse:
    """GET the signed-in agent's desktop state (then apply WebSocket events with greater seq)."""
    agent = placement.agent_of(request.user)
    if agent is None:
        return Response({"detail": "you are not an agent"}, status=403)
    return Response(desktop.snapshot(agent))


@extend_schema(request=DialSerializer, responses={200: OBJECT, **errors(400, 404, 409, 503)})
@api_view(["POST"])
def dial(request: Request, login_id: str) -> Response:
    """POST {number}: ring the agent's phone and connect it to the number (click-to-dial
    from a business system, INT-4). The agent itself, or users allowed to change agents;
    dialing rules for the agent's level apply (AG-16)."""
    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("extension").first()
    if agent is None:
        return Response({"detail": f"no active agent {login_id!r}"}, status=404)
    if not may_control_agent(request.user, login_id):
        return Response({"detail": "you may not dial for this agent"}, status=403)
    number = request.data.get("number") if isinstance(request.data, dict) else None
    if not isinstance(number, str):
        return Response({"detail": 'give the number to dial as {"number": "…"}'}, status=400)
    try:
        result = check_dial(agent, placement.switch_of(agent), number)
    except DialRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except IcmUnavailable as exc:
        return Response({"detail": str(exc)}, status=503)
    except CommandError as exc:
        return Response({"detail": str(exc)}, status=409)
    return Response(result)
