"""What a call does when its `socket` application server is lost, as mod_event_socket does it
(listener_run, socket_function): icm's crash handling relies on it (issue 21)."""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.esl_client import free_port
from tests.switchsim.conftest import SwitchSim, wait_for
from tests.switchsim.eslraw import RawESL

DIALPLAN = """
[[extension]]
context = "public"
name = "to_app"
destination = '^(8\\d{3})$'
actions = ["socket ${ipbx_outbound} async full", "set went_on=yes", "park"]

[[extension]]
context = "public"
name = "parked"
destination = '^9199$'
actions = ["answer", "park"]
"""


class Apps:
    """A raw application server: each session the socket app opens, connected."""

    def __init__(self, port: int) -> None:
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(5)
        self.sessions: queue.Queue[RawESL] = queue.Queue()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.srv.accept()
            except OSError:
                return
            c = RawESL.__new__(RawESL)
            c.sock, c.buf, c.pending = sock, b"", []
            sock.settimeout(5)
            c.send("connect")
            c.read_frame()
            self.sessions.put(c)

    def next(self) -> RawESL:
        return self.sessions.get(timeout=5)

    def close(self) -> None:
        try:
            self.srv.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.srv.close()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SwitchSim, int]]:
    tmp = Path(tmp_path_factory.mktemp("socketloss"))
    (tmp / "dialplan.toml").write_text(DIALPLAN)
    port = free_port()
    sim = SwitchSim(
        [
            "--outbound-socket",
            f"127.0.0.1:{port}",
            "--dialplan",
            str(tmp / "dialplan.toml"),
            "--local-stream-seconds",
            "0",  # queue music plays until broken, as on FreeSWITCH
        ],
        tmp,
    )
    yield sim, port
    sim.stop()


def _var(esl: RawESL, uuid: str, name: str) -> str:
    return esl.command(f"api uuid_getvar {uuid} {name}").body.strip()


def _exists(esl: RawESL, uuid: str) -> bool:
    return esl.command(f"api uuid_exists {uuid}").body.strip() == "true"


def test_a_socket_that_cannot_connect_goes_on_with_the_dialplan(sim) -> None:
    switch, _port = sim  # nothing listens on the outbound port
    esl = switch.authed()
    uuid = esl.command("api sim_call 5551001 8001").body.split()[1]
    assert wait_for(lambda: _var(esl, uuid, "went_on") == "yes")
    assert _exists(esl, uuid)
    esl.command(f"api uuid_kill {uuid}")
    esl.close()


@pytest.mark.parametrize("how", ["variable", "command"])
def test_a_resumed_call_stops_its_music_and_goes_on_when_its_server_is_lost(sim, how) -> None:
    switch, port = sim
    apps = Apps(port)
    esl = switch.authed()
    try:
        uuid = esl.command("api sim_call 5551002 8002").body.split()[1]
        app = apps.next()
        if how == "variable":  # what icm does: it can be turned off again before a bridge
            app.command(f"api uuid_setvar {uuid} socket_resume true")
        else:
            app.command("resume")
        app.send(
            "sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
            "execute-app-arg: local_stream://moh"
        )
        app.read_frame()
        app.close()  # the server dies while the caller hears endless music
        assert wait_for(lambda: _var(esl, uuid, "went_on") == "yes")
        assert _exists(esl, uuid)
        esl.command(f"api uuid_kill {uuid}")
    finally:
        apps.close()
        esl.close()


def test_without_resume_the_running_app_finishes_first(sim) -> None:
    switch, port = sim
    apps = Apps(port)
    esl = switch.authed()
    try:
        uuid = esl.command("api sim_call 5551003 8003").body.split()[1]
        app = apps.next()
        app.send(
            "sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
            "execute-app-arg: local_stream://moh"
        )
        app.read_frame()
        app.close()
        # CF_CONTROLLED is cleared but the music never ends by itself: the caller stays there
        with pytest.raises(AssertionError):
            wait_for(lambda: _var(esl, uuid, "went_on") == "yes", timeout=1.0)
        assert _exists(esl, uuid)
        esl.command(f"api uuid_break {uuid}")  # once it ends, the dialplan goes on
        assert wait_for(lambda: _var(esl, uuid, "went_on") == "yes")
        esl.command(f"api uuid_kill {uuid}")
    finally:
        apps.close()
        esl.close()


@pytest.mark.parametrize("resume", ["true", "false"])
def test_a_bridged_call_survives_its_lost_server_only_when_not_resumed(sim, resume) -> None:
    switch, port = sim
    apps = Apps(port)
    esl = switch.authed()
    try:
        caller = esl.command("api sim_call 5551004 8004").body.split()[1]
        app = apps.next()
        app.command(f"api uuid_setvar {caller} socket_resume true")
        other = esl.command("api sim_call 5551005 9199").body.split()[1]
        assert wait_for(lambda: _var(esl, other, "current_application") == "park")
        # icm's ACD: socket_resume off, then the bridge (what `bridge_caller` sends)
        esl.command(f"api uuid_setvar {caller} socket_resume {resume}")
        assert esl.command(f"api uuid_bridge {caller} {other}").body.startswith("+OK")
        assert wait_for(lambda: _var(esl, caller, "bridge_uuid") == other)
        app.close()
        if resume == "true":  # reset out of its bridge: with no dialplan left, hung up
            assert wait_for(lambda: not _exists(esl, caller))
        else:
            assert wait_for(lambda: "socket server lost (resume False" in "".join(switch.log))
            assert _exists(esl, caller) and _exists(esl, other)
            assert _var(esl, caller, "went_on") != "yes"
            assert _var(esl, caller, "bridge_uuid") == other
        esl.command(f"api uuid_kill {caller}")
        esl.command(f"api uuid_kill {other}")
    finally:
        apps.close()
        esl.close()
