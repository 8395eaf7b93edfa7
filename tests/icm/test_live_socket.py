"""The live-event protocol's server side (`icm.live_socket`) and its schemas
(`icm.bus.events`): a snapshot first, then numbered events; a stale event is not sent, a
gap or a page's `resync` brings a fresh snapshot, and a malformed bus message is dropped
without breaking the socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User

from icm.bus import keys
from icm.bus.events import (
    AlarmChanged,
    BulletinSent,
    ContactOffered,
    EventType,
    GatewayChanged,
    QueueStats,
    bulletin_event,
    parse_event,
)
from icm.bus.subscriber import fanout
from icm.live_socket import GAP, NEXT, STALE, UNKNOWN, LiveEventConsumer, SeqTracker


class OneSwitch(LiveEventConsumer):
    """The base with the simplest snapshot: one switch's sequence number."""

    async def read_snapshot(self) -> dict[str, Any]:
        bus = redis.Redis.from_url(settings.REDIS_URL)
        return {"seq": {SWITCH: int(bus.get(keys.seq_key(SWITCH)) or 0)}}


SWITCH = f"ls{uuid.uuid4().hex[:6]}"


def _event(seq: int, **more: Any) -> dict[str, Any]:
    return {
        "switch": SWITCH,
        "seq": seq,
        "type": "agent.state",
        "agent": {"agent": "a1", "state": "ready"},
        **more,
    }


@pytest.fixture
def user(transactional_db):
    return User.objects.create_user("watcher", password="pw")


def _run(user: User, script) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        bus = redis.Redis.from_url(settings.REDIS_URL)
        bus.set(keys.seq_key(SWITCH), 10)
        ws = WebsocketCommunicator(OneSwitch.as_asgi(), "/ws/test/")
        ws.scope["user"] = user
        connected, _ = await ws.connect()
        assert connected
        await asyncio.wait_for(fanout().subscribed.wait(), 10)
        frames = [await ws.receive_json_from(timeout=10)]  # the snapshot
        try:
            await script(ws, bus, frames)
        finally:
            await ws.disconnect()
            bus.delete(keys.seq_key(SWITCH))
        return frames

    return async_to_sync(run)()


def test_snapshot_then_numbered_events_and_a_malformed_message_is_dropped(user):
    async def script(ws, bus, frames):
        bus.publish(keys.events_channel(bus), json.dumps(_event(9)))  # the snapshot holds it
        bus.publish(keys.events_channel(bus), b"{not json")
        bus.publish(keys.events_channel(bus), json.dumps({**_event(11), "agent": "not an object"}))
        bus.publish(keys.events_channel(bus), json.dumps({"type": "no.such.event", "seq": 11}))
        bus.publish(keys.events_channel(bus), json.dumps(_event(11)))
        frames.append(await ws.receive_json_from(timeout=10))

    snapshot, event = _run(user, script)
    assert snapshot == {"type": "snapshot", "seq": {SWITCH: 10}, "wseq": 1}
    assert event == {**_event(11), "wseq": 2}  # only the valid, newer event; still open


def test_a_gap_or_a_page_s_resync_brings_a_fresh_snapshot(user):
    async def script(ws, bus, frames):
        bus.set(keys.seq_key(SWITCH), 13)
        bus.publish(keys.events_channel(bus), json.dumps(_event(13)))  # 11 and 12 were lost
        frames.append(await ws.receive_json_from(timeout=10))
        await ws.send_json_to({"type": "resync"})
        frames.append(await ws.receive_json_from(timeout=10))
        bus.publish(keys.events_channel(bus), json.dumps(_event(14)))
        frames.append(await ws.receive_json_from(timeout=10))

    frames = _run(user, script)
    assert frames[1] == {"type": "snapshot", "seq": {SWITCH: 13}, "wseq": 2}
    assert frames[2] == {"type": "snapshot", "seq": {SWITCH: 13}, "wseq": 3}
    assert frames[3] == {**_event(14), "wseq": 4}


def test_an_anonymous_user_is_refused(transactional_db):
    async def run() -> int | None:
        ws = WebsocketCommunicator(OneSwitch.as_asgi(), "/ws/test/")
        connected, code = await ws.connect()
        if connected:
            out = await ws.receive_output(timeout=5)
            code = out.get("code")
        return code

    assert async_to_sync(run)() == 4401


def test_the_tracker_places_events_against_the_snapshot():
    tracker = SeqTracker({"s": 5})
    assert tracker.place({"switch": "s", "seq": 4, "type": "agent.state"}) == STALE
    assert tracker.place({"switch": "s", "seq": 6, "type": "agent.state"}) == NEXT
    assert tracker.place({"switch": "s", "seq": 8, "type": "agent.state"}) == GAP
    assert tracker.place({"switch": "s", "seq": 9, "type": "reset"}) == GAP
    assert tracker.place({"switch": "other", "seq": 1, "type": "agent.state"}) == UNKNOWN
    assert tracker.place({"switch": None, "type": "bulletin"}) == NEXT


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (EventType.CONTACT_OFFERED, ContactOffered(contact="c", queue="q", agents=["a1"])),
        (EventType.QUEUE_STATS, QueueStats(queues={"q": {"waiting": 1}})),
        (EventType.ALARM, AlarmChanged(key="k", kind="gateway", raised=True, at=1.0)),
        (EventType.GATEWAY_STATE, GatewayChanged(gateway="g", state="REGED", healthy=True)),
    ],
)
def test_what_icm_builds_is_what_the_web_side_accepts(kind, data):
    assert data.event_type is kind
    event = {"switch": "s", "seq": 1, "type": str(kind), "data": data.as_json()}
    assert parse_event(json.dumps(event)) == event
    broken = {**event, "data": {k: v for k, v in data.as_json().items() if k == "since"}}
    assert parse_event(json.dumps(broken)) is None


def test_a_bulletin_is_unsequenced_and_checked():
    event = bulletin_event(BulletinSent(**{"id": 3, "text": "hi", "from": "Lead"}, agents=["a1"]))
    assert event["switch"] is None and event["type"] == "bulletin"
    assert parse_event(json.dumps(event)) == event
    assert parse_event(json.dumps({**event, "data": {"id": 3}})) is None  # no recipients
