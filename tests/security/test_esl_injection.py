"""ESL command injection through icm's outbound-socket port (issue 18, finding 1).

A fake "switch" connects to icm's outbound socket, as FreeSWITCH's `socket` application
does, and hands icm a Unique-ID of `x\\n\\napi system …` (URL-encoded, as greenswitch decodes
it). Before the fix icm took it as the call's id, queued the call and put the id into the
agent offer's `originate {…}` line: switchsim (the real inbound event socket) received a
second command, `api system …`. Now the session is refused, a peer outside
`ICM_OUTBOUND_ALLOWED` is closed at once, and no hostile line reaches the switch.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from agents.models import Agent, AgentSkill, Skill
from icm.models import Extension, InboundRoute, Queue, QueueSkill, Site
from tests.fixtures.waiting import wait_until

HOSTILE_ID = "x\n\napi system touch /tmp/ipbx-pwned"


@pytest.fixture
def call_center(transactional_db):
    site = Site.objects.create(code="sec", name="Security site", sip_domain="sec.local")
    skill = Skill.objects.create(name="support")
    queue = Queue.objects.create(
        site=site,
        name="helpdesk",
        display_name="Help desk",
        strategy="top_down",
        wrap_up_seconds=1,
        strategy_parameters={"ring_timeout": 5},
    )
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=1)
    InboundRoute.objects.create(site=site, name="help", dnis="8123", queue=queue)
    ext = Extension.objects.create(site=site, number="1101", password="x")
    agent = Agent.objects.create(login_id="ag1", name="Agent 1", extension=ext)
    AgentSkill.objects.create(agent=agent, skill=skill, level=5)
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("sup", "s@example.com", "pw"))
    return client


class FakeSwitchPeer:
    """A peer on icm's outbound port playing FreeSWITCH's side of one `socket` session:
    it answers `connect` with the channel's data and every later command with +OK."""

    def __init__(self, port: int, unique_id: str, dnis: str = "8123") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.unique_id, self.dnis = unique_id, dnis
        self.received: list[str] = []

    def _read_command(self) -> str | None:
        data = b""
        while not data.endswith(b"\n\n"):
            try:
                chunk = self.sock.recv(1)
            except (TimeoutError, OSError):
                return None
            if not chunk:
                return None
            data += chunk
        return data.decode()

    def serve(self, commands: int = 8) -> list[str]:
        """Answer up to `commands` commands; returns what icm sent (stops when it hangs up)."""
        for _ in range(commands):
            command = self._read_command()
            if command is None:
                break
            self.received.append(command)
            if command.startswith("connect"):
                self._connect_reply()
            else:
                self.sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
        return self.received

    def _connect_reply(self) -> None:
        quoted = quote(self.unique_id, safe="-")
        headers = {
            "Content-Type": "command/reply",
            "Reply-Text": "+OK",
            "Event-Name": "CHANNEL_DATA",
            "Unique-ID": quoted,
            "Channel-Call-UUID": quoted,
            "Channel-Destination-Number": self.dnis,
            "Caller-Destination-Number": self.dnis,
            "Channel-Caller-ID-Number": "5550100",
            "Caller-Caller-ID-Number": "5550100",
        }
        frame = "".join(f"{k}: {v}\n" for k, v in headers.items()) + "\n"
        self.sock.sendall(frame.encode())

    def close(self) -> None:
        self.sock.close()


def commands_seen(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def ready_agent(client: APIClient, platform) -> None:
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")
    response = client.post(
        "/api/agents/ag1/state/", {"state": "login", "switch": platform.switch}, format="json"
    )
    assert response.status_code == 200, response.content
    esl.close()


def test_a_hostile_unique_id_never_becomes_a_second_switch_command(
    call_center, platform_factory, tmp_path
):
    log = tmp_path / "commands.jsonl"
    platform = platform_factory("--command-log", str(log))
    ready_agent(call_center, platform)

    peer = FakeSwitchPeer(platform.outbound_port, HOSTILE_ID)
    try:
        peer.serve(commands=8)
    finally:
        peer.close()
    # a genuine session (a UUID) after it is served: the port works and its call is offered
    genuine = FakeSwitchPeer(platform.outbound_port, str(uuid.uuid4()))
    serving = threading.Thread(target=genuine.serve, kwargs={"commands": 50}, daemon=True)
    serving.start()
    try:
        wait_until(
            lambda: any(c.startswith("bgapi originate") for c in commands_seen(log)),
            timeout=20,
            what="an offer to ring the agent",
        )
        seen = commands_seen(log)
        assert not [c for c in seen if "system" in c], seen  # no second command, ever
        wait_until(
            lambda: any("myevents" in command for command in genuine.received),
            what="icm to take the genuine session",
        )
        offers = [c for c in commands_seen(log) if c.startswith("bgapi originate")]
        assert len(offers) == 1 and genuine.unique_id in offers[0], offers  # the genuine one
    finally:
        genuine.close()
        serving.join(10)
    for command in commands_seen(log):
        assert "\n" not in command and "\r" not in command
    assert "refused a session" in platform.icm.log()


def test_a_peer_outside_the_allowed_networks_is_closed_at_once(call_center, platform_factory):
    platform = platform_factory(ICM_OUTBOUND_ALLOWED="198.51.100.0/24")  # not loopback
    peer = FakeSwitchPeer(platform.outbound_port, str(uuid.uuid4()))
    try:
        assert peer.serve(commands=2) == []  # closed without a `connect`: nothing runs
    finally:
        peer.close()
    assert "refused a connection from 127.0.0.1" in platform.icm.log()


def test_production_refuses_an_open_outbound_socket_without_an_allow_list():
    from tests.test_settings import _load_prod

    refused = _load_prod({"ICM_OUTBOUND_HOST": "0.0.0.0"})
    assert refused.returncode != 0 and "ICM_OUTBOUND_ALLOWED" in refused.stderr
    allowed = _load_prod({"ICM_OUTBOUND_HOST": "0.0.0.0", "ICM_OUTBOUND_ALLOWED": "10.1.2.0/24"})
    assert allowed.returncode == 0, allowed.stderr
