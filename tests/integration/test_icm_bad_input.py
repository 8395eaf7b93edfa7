"""icm survives a hostile or absent switch: malformed frames, no server, a refused password."""

import socket
import threading
import uuid

import pytest

from icm.models import Switch
from tests.fixtures.esl_client import free_port
from tests.fixtures.processes import start_icm
from tests.fixtures.waiting import wait_until


class FakeSwitch:
    """Accepts ESL connections, authenticates anyone, then sends one scripted frame."""

    def __init__(self, frame: bytes) -> None:
        self.frame = frame
        self.port = free_port()
        self.connections = 0
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn:
            file = conn.makefile("rb")
            conn.sendall(b"Content-Type: auth/request\n\n")
            empty = b'{"row_count":0}'
            api_reply = b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (
                len(empty),
                empty,
            )
            try:
                for reply in (b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n",) * 2:
                    self._read_command(file)  # auth, then the event subscription
                    conn.sendall(reply)
                # whatever icm asks once connected (show calls / channels as json, sofia
                # xmlstatus gateway, module_exists …): answered until it has nothing left
                # to ask, so the scripted frame comes when icm waits for no reply
                conn.settimeout(0.7)
                try:
                    while True:
                        self._read_command(file)
                        conn.sendall(api_reply)
                except TimeoutError:
                    pass
                conn.settimeout(None)
                conn.sendall(self.frame)
                conn.recv(1024)  # until icm drops us
            except OSError:
                pass

    @staticmethod
    def _read_command(file) -> None:
        while file.readline() not in (b"\n", b""):
            pass

    def close(self) -> None:
        self.server.close()


@pytest.mark.parametrize(
    "frame",
    [
        b"Content-Type: text/event-json\nContent-Length: -5\n\n",
        b"Content-Type: text/event-json\nContent-Length: abc\n\n",
        b"Content-Type: text/event-json\nContent-Length: 99999999999\n\n",
        b"Content-Type: text/event-json\nContent-Length: 9\n\nnot json!",
        b"Content-Type: text/event-json\nContent-Length: 5\n\n[1,2]",
        b'Content-Type: text/event-json\nContent-Length: 10\n\n{"a":"\xff\xfe"}',
        b"Content-Type: api/response\nContent-Length: 2\n\nhi",  # nobody asked
    ],
    ids=[
        "negative",
        "non-numeric",
        "huge",
        "bad-json",
        "json-not-an-object",
        "json-not-utf8",
        "unsolicited-reply",
    ],
)
def test_icm_drops_malformed_frames_and_reconnects(transactional_db, frame):
    fake = FakeSwitch(frame)
    switch = f"t{uuid.uuid4().hex[:8]}"
    icm = start_icm(switch, fake.port, free_port())
    try:
        icm.wait_log("malformed frame", timeout=20)
        wait_until(lambda: fake.connections >= 2, timeout=20, what="icm to reconnect")
        assert icm.alive()
    finally:
        icm.stop()
        fake.close()


def test_icm_keeps_running_when_the_switch_is_unreachable(transactional_db):
    switch = f"t{uuid.uuid4().hex[:8]}"
    icm = start_icm(switch, free_port(), free_port())
    try:
        icm.wait_log(f"switch {switch} unreachable", timeout=20)
        icm.wait_log("reconnecting in", timeout=10)
        assert icm.alive()
        wait_until(
            lambda: Switch.objects.get(name=switch).status == Switch.Status.DISCONNECTED,
            what="the switch to be marked disconnected",
        )
    finally:
        icm.stop()
