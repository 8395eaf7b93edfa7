"""Outbound ESL: the dialplan `socket` app connecting to an application server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import gevent
import gevent.event
import greenswitch
import pytest
from greenswitch.esl import OutboundESLServer

from tests.fixtures.esl_client import free_port
from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import RawESL


@pytest.fixture(scope="module")
def outbound_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SwitchSim, int]]:
    port = free_port()
    sim = SwitchSim(
        ["--playback-seconds", "0.2", "--outbound-socket", f"127.0.0.1:{port}"],
        Path(tmp_path_factory.mktemp("outbound")),
    )
    yield sim, port
    sim.stop()


def test_greenswitch_outbound_session_works_unchanged(outbound_sim) -> None:
    sim, port = outbound_sim
    results: dict[str, object] = {}
    done = gevent.event.Event()

    class App:
        def __init__(self, session) -> None:
            self.session = session

        def run(self) -> None:
            s = self.session
            try:
                s.connect()
                s.myevents()
                s.linger()
                results["data"] = dict(s.session_data)
                s.answer()
                ev = s.playback("tone_stream://%(300,0,440)")
                results["playback"] = ev.headers.get("Application-Response")
                results["digits"] = s.play_and_get_digits(
                    1,
                    4,
                    1,
                    3000,
                    "#",
                    "tone_stream://%(100,0,350)",
                    "silence_stream://250",
                    "ipbx_digits",
                    "\\d+",
                    1000,
                )
                s.hangup()
                gevent.sleep(0.3)
                results["lingering"] = s._lingering
            except Exception as exc:  # reported through results
                results["error"] = repr(exc)
            finally:
                done.set()

    server = OutboundESLServer("127.0.0.1", port, application=App)
    listener = gevent.spawn(server.listen)
    gevent.sleep(0.1)
    esl = greenswitch.InboundESL("127.0.0.1", sim.port, "ClueCon")
    esl.connect()
    uuid = esl.send("api sim_call 5552000 8000 dtmf=42#").data.split()[1]
    assert done.wait(15)
    assert "error" not in results, results
    data = results["data"]
    assert data["Reply-Text"] == "+OK" and data["Socket-Mode"] == "async"
    assert data["Control"] == "full"
    assert data["Unique-ID"] == uuid and data["Channel-Destination-Number"] == "8000"
    assert data["Caller-Caller-ID-Number"] == "5552000"
    assert data["variable_current_application"] == "socket"
    assert results["playback"] == "FILE PLAYED"
    assert results["digits"] == "42"
    assert results["lingering"] is True
    for _ in range(100):
        if esl.send(f"api uuid_exists {uuid}").data == "false":
            break
        gevent.sleep(0.05)
    assert esl.send(f"api uuid_exists {uuid}").data == "false"
    server.stop()
    esl.stop()
    listener.join(3)
    if server.server is not None:
        server.server.close()  # free the port for the next test
    listener.kill()


class RawApp:
    """A raw TCP application server accepting one outbound session."""

    def __init__(self, port: int) -> None:
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(5)
        self.conn: RawESL | None = None
        self.ready = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        sock, _ = self.srv.accept()
        c = RawESL.__new__(RawESL)
        c.sock, c.buf, c.pending = sock, b"", []
        sock.settimeout(5)
        self.conn = c
        self.ready.set()


def test_raw_outbound_frames_linger_and_disconnect(outbound_sim) -> None:
    sim, port = outbound_sim
    app = RawApp(port)
    esl = sim.authed()
    uuid = esl.command("api sim_call 5552001 8001").body.split()[1]
    assert app.ready.wait(5)
    c = app.conn
    assert c is not None
    c.send("connect")
    reply = c.read_frame()
    assert reply.headers["Content-Type"] == "command/reply"
    assert reply.headers["Reply-Text"] == "%2BOK%0A"
    assert reply.headers["Event-Name"] == "CHANNEL_DATA"
    assert reply.headers["Channel-Unique-ID"] == uuid
    assert reply.headers["Event-Calling-Function"] == "parse_command"
    assert c.command("myevents").headers["Reply-Text"] == "+OK Events Enabled"
    assert c.command("linger 5").headers["Reply-Text"] == "+OK will linger 5 seconds"
    assert c.command("api uuid_getvar " + uuid + " socket_host").body == "127.0.0.1"
    c.send("sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: x=1")
    assert c.read_frame().headers["Reply-Text"] == "+OK"
    done = c.events_until(lambda f: f.event_dict().get("Event-Name") == "CHANNEL_EXECUTE_COMPLETE")
    assert done[-1].event_dict()["variable_x"] == "1"
    c.send("sendmsg\ncall-command: hangup\nhangup-cause: USER_BUSY")
    assert c.read_frame().headers["Reply-Text"] == "+OK"
    frames = c.events_until(lambda f: f.content_type == "text/disconnect-notice")
    names = [f.event_dict().get("Event-Name") for f in frames[:-1]]
    assert names[0] == "CHANNEL_HANGUP" and names[-1] == "CHANNEL_HANGUP_COMPLETE"
    assert "CHANNEL_UNPARK" in names and "CHANNEL_CALLSTATE" not in names
    linger = frames[-1]
    assert linger.headers["Content-Disposition"] == "linger"
    assert linger.headers["Controlled-Session-UUID"] == uuid
    assert linger.headers["Linger-Time"] == "5"
    c.send("exit")
    assert c.read_frame().headers["Reply-Text"] == "+OK bye"
    final = c.read_frame()
    assert final.headers["Content-Disposition"] == "disconnect"
    assert final.body.startswith("Disconnected, goodbye.")
    esl.close()
