"""Issue 18 item 11, the low findings, one test each:

- a recording's byte-range requests are one listen in its access log (not one per request,
  and a range from the middle of the file is not a way to listen unlogged);
- the agent desktop's WebSocket closes when its agent signs out or is deactivated;
- production trusts X-Forwarded-Proto only when a proxy is configured;
- production refuses a short xml_curl secret;
- every Celery beat task expires, so ticks no worker took do not pile up.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from agents.models import Agent
from recording.models import Recording, RecordingAccess
from switchsim.wav import write_wav
from tests.test_settings import _load_prod

LISTEN = RecordingAccess.Kind.LISTEN


@pytest.mark.django_db
def test_a_players_range_requests_are_one_listen_in_the_access_log(tmp_path):
    user = User.objects.create_user("ag1", password="pw")
    agent = Agent.objects.create(login_id="ag1", name="Agent 1", user=user)
    path = tmp_path / "r1.wav"
    write_wav(path, 4.0, channels=2)
    now = datetime.now(tz=UTC)
    recording = Recording.objects.create(
        switch="fs1",
        call_uuid="call-1",
        leg_uuid="leg-1",
        agent=agent,
        started_at=now,
        ended_at=now,
        format="pcm",
        path=str(path),
        file=str(path),
        status=Recording.Status.READY,
    )
    browser = Client()
    browser.force_login(user)
    url = f"/recordings/{recording.pk}/audio"

    def listens() -> int:
        return RecordingAccess.objects.filter(recording=recording, kind=LISTEN).count()

    # a range from the middle of the file, with nothing before it, is a listen
    seek = browser.get(url, HTTP_RANGE="bytes=4000-")
    assert seek.status_code == 206
    assert listens() == 1
    # the player's requests (its start, the rest, seeking, a replay) are the same listen
    for ranged in ("bytes=0-", "bytes=0-99", "", "bytes=100-199", "bytes=0-"):
        extra = {"HTTP_RANGE": ranged} if ranged else {}
        assert browser.get(url, **extra).status_code in (200, 206)
    assert listens() == 1
    # much later it is another listen
    RecordingAccess.objects.filter(recording=recording).update(at=now - timedelta(hours=1))
    assert browser.get(url, HTTP_RANGE="bytes=0-").status_code == 206
    assert listens() == 2


async def _close_code(ws: WebsocketCommunicator, timeout: float = 5) -> int | None:
    """Read the socket until the server closes it: the close code (None: still open)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while (left := until - loop.time()) > 0:
        try:
            out = await ws.receive_output(timeout=left)
        except TimeoutError:
            return None
        if out["type"] == "websocket.close":
            await ws.disconnect()  # what the server then tells the consumer
            return out.get("code")
    return None


async def _desktop(session_key: str) -> WebsocketCommunicator:
    from ipbx_project.routing import websocket_urlpatterns

    app = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    cookie = f"sessionid={session_key}".encode()
    ws = WebsocketCommunicator(app, "/ws/agent/", headers=[(b"cookie", cookie)])
    connected, _ = await ws.connect(timeout=5)
    assert connected
    return ws


@pytest.mark.django_db(transaction=True)
def test_the_desktop_socket_closes_when_its_agent_signs_out_or_is_deactivated(settings):
    settings.ICM_COMMAND_REPLY_TIMEOUT = 0.5  # no icm here: the ACD sign-out fails fast
    user = User.objects.create_user("ag1", password="pw")
    agent = Agent.objects.create(login_id="ag1", name="Agent 1", user=user)

    def signed_in() -> Client:
        browser = Client()
        browser.force_login(user)
        return browser

    async def scenario() -> None:
        # signing out of the desktop page closes its socket
        browser = await database_sync_to_async(signed_in)()
        ws = await _desktop(browser.session.session_key)
        await database_sync_to_async(browser.post)("/agent/sign-out/")
        assert await _close_code(ws) == 4401

        # a session that ended without a sign-out: the socket's next command is refused
        browser = await database_sync_to_async(signed_in)()
        ws = await _desktop(browser.session.session_key)
        await database_sync_to_async(Session.objects.all().delete)()
        await ws.send_to(text_data=json.dumps({"id": "1", "command": "ready", "args": {}}))
        assert await _close_code(ws) == 4401

        # an administrator deactivates the agent: its open desktop closes
        browser = await database_sync_to_async(signed_in)()
        ws = await _desktop(browser.session.session_key)
        agent.active = False
        await database_sync_to_async(agent.save)()
        assert await _close_code(ws) == 4401

    asyncio.run(scenario())


PROXY_PROBE = (
    "import django; django.setup(); from django.test import RequestFactory; "
    "r = RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https', secure=False); "
    "print('secure' if r.is_secure() else 'plain')"
)


def test_x_forwarded_proto_is_trusted_only_behind_a_configured_proxy():
    """Without a proxy, anyone can send X-Forwarded-Proto: https; production must not take
    the request for HTTPS then. With DJANGO_SECURE_PROXY_SSL_HEADER set, it does."""
    import os
    import subprocess
    import sys

    from tests.test_settings import GOOD_ENV

    def probe(extra: dict[str, str]) -> str:
        env = {k: v for k, v in os.environ.items() if k not in GOOD_ENV}
        env.pop("DJANGO_SECURE_PROXY_SSL_HEADER", None)
        env.update(GOOD_ENV, **extra)
        result = subprocess.run(
            [sys.executable, "-c", PROXY_PROBE], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert probe({}) == "plain"
    assert probe({"DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}) == "secure"


def test_production_refuses_a_short_xml_curl_secret():
    short = _load_prod({"XML_CURL_SECRET": "guessable-secret"})  # 16 characters
    assert short.returncode != 0
    assert "ImproperlyConfigured" in short.stderr and "XML_CURL_SECRET" in short.stderr
    long_enough = _load_prod({"XML_CURL_SECRET": "k3Jx9QvTz2LmW8rYp4NcB7hD"})  # 24
    assert long_enough.returncode == 0, long_enough.stderr


def test_every_beat_task_expires_before_the_next_tick_piles_up():
    """A tick no worker took in time is dropped: when workers come back after an outage
    they do not run a backlog of the same periodic task, one after the other."""
    from ipbx_project.celery import app

    schedule = app.conf.beat_schedule
    assert "apply-scheduled-queue-changes" in schedule
    for name, entry in schedule.items():
        expires = (entry.get("options") or {}).get("expires")
        assert expires is not None, f"{name} never expires"
        assert 0 < expires <= 2 * float(entry["schedule"]), name
