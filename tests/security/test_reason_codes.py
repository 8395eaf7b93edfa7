"""Issue 18 item 2: the not-ready reason an agent sends reaches icm (which stores it and shows
it on the supervisors' wallboard and in the reports) only when it is an active configured
code, or no reason at all — on every way in: the REST API, the desktop's commands and a
supervisor's "force not ready". A fake icm serves the real command bus and records what it
is asked to do."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from agents.actions import DesktopRefused, check_desktop_command
from agents.models import NotReadyReason
from icm.bus.commands import CommandServer
from icm.models import Switch
from tests.supervision.conftest import client_for, teams  # noqa: F401

HOSTILE = '<img src=x onerror="alert(document.cookie)">'
STATE_COMMANDS = (
    "agent_login",
    "agent_logout",
    "agent_ready",
    "agent_not_ready",
    "agent_reject",
    "end_wrap_up",
    "extend_wrap_up",
)


class FakeIcm:
    """icm's end of the command bus for one switch: answers every agent state command with
    success and keeps what it got."""

    def __init__(self, switch: str) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        client = redis.Redis.from_url(settings.REDIS_URL)
        handlers = {name: self._handler(name) for name in STATE_COMMANDS}
        self.server = CommandServer(client, switch, handlers)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self, name: str) -> Any:
        def handle(args: dict[str, Any]) -> dict[str, Any]:
            with self.lock:
                self.received.append((name, args))
            return {"agent": args.get("agent"), "state": name}

        return handle

    def reasons(self, name: str = "agent_not_ready") -> list[str]:
        with self.lock:
            return [args.get("reason", "") for got, args in self.received if got == name]

    def saw(self, text: str) -> bool:
        with self.lock:
            return any(text in str(args) for _, args in self.received)

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(5)


@pytest.fixture
def center(teams):  # noqa: F811
    """The two supervision teams on their own switch, served by a fake icm; no reason
    configured (the fixture's "meeting" removed)."""
    site, users = teams
    name = f"rc{uuid.uuid4().hex[:8]}"
    Switch.objects.create(site=site, name=name)
    NotReadyReason.objects.all().delete()
    icm = FakeIcm(name)
    yield name, users, icm
    icm.stop()


def _state(client: APIClient, switch: str, state: str, reason: Any) -> Any:
    body = {"state": state, "reason": reason, "switch": switch}
    return client.post("/api/agents/ag1/state/", body, format="json")


def test_the_rest_api_refuses_a_reason_when_none_is_configured(center):
    switch, users, icm = center
    agent = client_for(users["agent1"])  # the agent itself, as its desktop's session
    refused = _state(agent, switch, "not_ready", HOSTILE)
    assert refused.status_code == 400 and "reason" in refused.json()
    assert not icm.saw(HOSTILE)  # nothing stored, nothing for a supervisor's screen
    assert _state(agent, switch, "not_ready", "").status_code == 200  # no reason: fine
    assert icm.reasons() == [""]


def test_the_rest_api_takes_only_an_active_configured_code(center):
    switch, users, icm = center
    NotReadyReason.objects.create(code="lunch", label="Lunch")
    NotReadyReason.objects.create(code="old", label="Retired", active=False)
    agent = client_for(users["agent1"])
    for reason in (HOSTILE, "old", "Lunch", "lunch-", 5):
        r = _state(agent, switch, "not_ready", reason)
        assert r.status_code == 400 and "lunch" in str(r.json()["reason"]), reason
    assert _state(agent, switch, "not_ready", "lunch").status_code == 200
    assert _state(agent, switch, "login_not_ready", HOSTILE).status_code == 400
    assert icm.reasons() == ["lunch"]
    assert not icm.saw(HOSTILE)


def test_the_desktop_sends_only_a_configured_code(center):
    switch, users, icm = center
    agent = users["agent1"].agent
    for command in ("not_ready", "login_not_ready"):
        with pytest.raises(DesktopRefused, match="no not-ready reasons are configured"):
            check_desktop_command(agent, switch, command, {"reason": HOSTILE})
    NotReadyReason.objects.create(code="break", label="Break")
    with pytest.raises(DesktopRefused, match="one of break"):
        check_desktop_command(agent, switch, "not_ready", {"reason": HOSTILE})
    check_desktop_command(agent, switch, "not_ready", {"reason": "break"})
    # a reason on any other change is dropped, never carried to icm
    for command in ("ready", "logout", "reject_not_ready", "end_wrap_up"):
        check_desktop_command(agent, switch, command, {"reason": HOSTILE})
    assert icm.reasons() == ["break"]
    assert not icm.saw(HOSTILE)


def test_a_supervisor_forces_not_ready_with_a_code_or_none(center):
    switch, users, icm = center
    lead = client_for(users["lead1"])
    url = "/api/supervision/agents/ag1/force_not_ready/"
    assert lead.post(url, {"reason": HOSTILE}, format="json").status_code == 403
    assert lead.post(url, {}, format="json").status_code == 200
    assert icm.reasons() == ["supervisor"]  # the platform's own reason
    assert not icm.saw(HOSTILE)
