"""The agent desktop's pages (sign in with agent ID and phone-bar password, AG-1; the
desktop itself) and its snapshot API."""

from __future__ import annotations

import logging

from django.contrib.auth import login, logout
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from agents import desktop
from agents.actions import check_desktop_command
from agents.models import Agent
from icm.bus.commands import CommandError

log = logging.getLogger(__name__)
_DUMMY = make_password("not a real phone-bar password")  # unknown IDs cost the same check


def desktop_page(request: HttpRequest) -> HttpResponse:
    agent = desktop.agent_of(request.user)
    if agent is None:
        return render(request, "agents/sign_in.html", {"error": request.GET.get("error", "")})
    return render(request, "agents/desktop.html", {"agent": agent})


SIGN_IN_TRIES = 5  # failures per agent ID and address …
SIGN_IN_WINDOW = 300  # … within this many seconds, then refused until it passes


@require_POST
def sign_in(request: HttpRequest) -> HttpResponse:
    """Agent ID + phone-bar password; then the agent is signed in to the ACD, not ready.

    A phone-bar password is short: tries are counted per agent ID and address, unknown IDs
    take as long as known ones, and it never opens a staff or administrator session (those
    sign in with their own password)."""
    login_id = request.POST.get("agent_id", "").strip()[:32]
    password = request.POST.get("password", "")
    key = f"agent-sign-in:{login_id}:{request.META.get('REMOTE_ADDR', '')}"
    if cache.get(key, 0) >= SIGN_IN_TRIES:
        log.warning("agent %s: desktop sign-in throttled", login_id)
        return render(request, "agents/sign_in.html", {"error": "Too many attempts: wait a few "
                      "minutes and try again."}, status=429)  # fmt: skip
    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("user").first()
    user = agent.user if agent is not None else None
    ok = agent.check_phone_bar_password(password) if agent else check_password(password, _DUMMY)
    if not ok or user is None or not user.is_active or user.is_staff or user.is_superuser:
        cache.set(key, cache.get(key, 0) + 1, SIGN_IN_WINDOW)
        log.warning("agent %s: desktop sign-in refused", login_id)
        return render(request, "agents/sign_in.html",
                      {"error": "Unknown agent ID or wrong password."}, status=403)  # fmt: skip
    cache.delete(key)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    try:
        check_desktop_command(agent, desktop.switch_of(agent), "login_not_ready", {})
    except CommandError as exc:
        log.warning("agent %s: ACD sign-in failed: %s", login_id, exc)
    return redirect("agent-desktop")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    agent = desktop.agent_of(request.user)
    if agent is not None:
        try:
            check_desktop_command(agent, desktop.switch_of(agent), "logout", {})
        except CommandError as exc:
            log.warning("agent %s: ACD sign-out failed: %s", agent.login_id, exc)
    logout(request)
    return redirect("agent-desktop")


@api_view(["GET"])
def desktop_snapshot(request: Request) -> Response | JsonResponse:
    """GET the signed-in agent's desktop state (then apply WebSocket events with greater seq)."""
    agent = desktop.agent_of(request.user)
    if agent is None:
        return Response({"detail": "you are not an agent"}, status=403)
    return Response(desktop.snapshot(agent))


@api_view(["POST"])
def dial(request: Request, login_id: str) -> Response:
    """POST {number}: ring the agent's phone and connect it to the number (click-to-dial
    from a business system, INT-4). The agent itself, or users allowed to change agents;
    dialing rules for the agent's level apply (AG-16)."""
    from agents.dialing import DialRefused, check_dial
    from icm.actions import may_control_agent
    from icm.bus.commands import IcmUnavailable

    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("extension").first()
    if agent is None:
        return Response({"detail": f"no active agent {login_id!r}"}, status=404)
    if not may_control_agent(request.user, login_id):
        return Response({"detail": "you may not dial for this agent"}, status=403)
    number = request.data.get("number") if isinstance(request.data, dict) else None
    if not isinstance(number, str):
        return Response({"detail": 'give the number to dial as {"number": "…"}'}, status=400)
    try:
        result = check_dial(agent, desktop.switch_of(agent), number)
    except DialRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except IcmUnavailable as exc:
        return Response({"detail": str(exc)}, status=503)
    except CommandError as exc:
        return Response({"detail": str(exc)}, status=409)
    return Response(result)
