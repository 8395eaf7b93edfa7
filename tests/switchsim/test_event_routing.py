"""Event delivery: the bus offers ``myevents`` listeners only their session's events (they are
indexed by uuid so thousands of outbound sessions do not each see every event), with the
same result as offering every event to every listener."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchsim.events import Event, EventBus
from tests.fixtures.esl_client import free_port
from tests.switchsim.conftest import SwitchSim, wait_for
from tests.switchsim.eslraw import RawESL


class _Sink:
    def __init__(self) -> None:
        self.got: list[Event] = []

    def offer(self, event: Event) -> None:
        self.got.append(event)


def _event(*headers: tuple[str, str]) -> Event:
    return Event("CUSTOM", list(headers))


def test_route_ids_match_get_first_occurrence_case_insensitive() -> None:
    cases = [
        _event(("Unique-ID", "a"), ("unique-id", "b"), ("JOB-OWNER-UUID", "c")),
        _event(("Other", "x")),
        _event(("Job-Owner-UUID", "o"), ("UNIQUE-ID", "u"), ("Job-Owner-UUID", "p")),
    ]
    for event in cases:
        expected = (event.get("Unique-ID"), event.get("Job-Owner-UUID"))
        assert _event(*event.headers).route_ids() == expected
        assert event.route_ids() == expected  # from the already built index


def test_narrowed_subscribers_get_only_their_session_events() -> None:
    bus = EventBus("host", "127.0.0.1", "::1")
    everything, mine, other, gone = _Sink(), _Sink(), _Sink(), _Sink()
    for sub in (everything, mine, other, gone):
        bus.subscribe(sub)
    bus.narrow(mine, "u1")
    bus.narrow(other, "u2")
    bus.unsubscribe(gone)
    bus.narrow(gone, "u1")  # not subscribed any more: stays out
    events = [
        _event(("Unique-ID", "u1")),
        _event(("Unique-ID", "u2")),
        _event(("Job-Owner-UUID", "u1")),
        _event(("Unique-ID", "u1"), ("Job-Owner-UUID", "u1")),  # offered once
        _event(("Unique-ID", "u3"), ("Job-Owner-UUID", "u2")),
        _event(("Event-Name", "HEARTBEAT")),
    ]
    for event in events:
        bus.fire(event)
    assert everything.got == events
    assert mine.got == [events[0], events[2], events[3]]
    assert other.got == [events[1], events[4]]
    assert gone.got == []
    assert set(bus.subscribers) == {everything, mine, other}
    bus.unsubscribe(mine)
    bus.fire(events[0])
    assert len(mine.got) == 3 and everything.got[-1] is events[0]


@pytest.fixture(scope="module")
def routed_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SwitchSim, int]]:
    port = free_port()
    sim = SwitchSim(
        ["--playback-seconds", "0.2", "--outbound-socket", f"127.0.0.1:{port}"],
        Path(tmp_path_factory.mktemp("routing")),
    )
    yield sim, port
    sim.stop()


def _accept_one(port: int) -> tuple[socket.socket, threading.Event, list[RawESL]]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(5)
    ready = threading.Event()
    conns: list[RawESL] = []

    def accept() -> None:
        sock, _ = srv.accept()
        c = RawESL.__new__(RawESL)
        c.sock, c.buf, c.pending = sock, b"", []
        sock.settimeout(5)
        conns.append(c)
        ready.set()

    threading.Thread(target=accept, daemon=True).start()
    return srv, ready, conns


def test_myevents_listeners_see_only_their_channel(routed_sim) -> None:
    sim, port = routed_sim
    srv, ready, conns = _accept_one(port)
    esl = sim.authed()
    watcher = sim.authed()
    try:
        uuid = esl.command("api sim_call 5553001 8001").body.split()[1]
        assert ready.wait(5)
        app = conns[0]
        app.send("connect")
        assert app.read_frame().headers["Reply-Text"] == "%2BOK%0A"
        assert app.command("myevents").headers["Reply-Text"] == "+OK Events Enabled"
        reply = app.command("event plain BACKGROUND_JOB")
        assert reply.headers["Reply-Text"] == "+OK event listener enabled plain"
        # another call, parked: none of its events may reach the session or the watcher
        other = esl.command("api sim_call 5553002 9300 context=default").body.split()[1]
        reply = watcher.command(f"myevents {uuid} plain")
        assert reply.headers["Reply-Text"] == "+OK Events Enabled"
        wait_for(lambda: esl.command(f"api uuid_exists {other}").body == "true")
        job = app.command("bgapi status").headers["Job-UUID"]
        app.send("sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: y=2")
        wanted = {"BACKGROUND_JOB", "CHANNEL_EXECUTE_COMPLETE"}

        def both_seen(f) -> bool:
            wanted.discard(f.event_dict().get("Event-Name", ""))
            return not wanted

        frames = app.events_until(both_seen)
        seen = [f.event_dict() for f in frames if f.content_type == "text/event-plain"]
        bg = [e for e in seen if e.get("Event-Name") == "BACKGROUND_JOB"]
        assert bg[0]["Job-UUID"] == job and bg[0]["Job-Owner-UUID"] == uuid
        assert all(e.get("Unique-ID") == uuid or e.get("Job-Owner-UUID") == uuid for e in seen)
        assert any(e.get("Event-Name") == "CHANNEL_EXECUTE" for e in seen)
        watched = watcher.events_until(
            lambda f: f.event_dict().get("Event-Name") == "CHANNEL_EXECUTE_COMPLETE"
        )
        assert {f.event_dict().get("Unique-ID") for f in watched} == {uuid}
        esl.command(f"api uuid_kill {other}")
        esl.command(f"api uuid_kill {uuid}")
        ends = watcher.events_until(
            lambda f: f.event_dict().get("Event-Name") == "CHANNEL_HANGUP_COMPLETE"
        )
        assert {f.event_dict().get("Unique-ID") for f in ends} == {uuid}
    finally:
        for c in (*conns, esl, watcher):
            c.close()
        srv.close()
