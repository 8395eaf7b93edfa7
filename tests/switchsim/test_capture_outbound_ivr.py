"""Fidelity: an outbound-socket IVR (capture outbound-ivr.txt).

A loopback call to 9500 runs `socket … async full`; the application server (a raw socket
here, as in the capture) sends the capture's commands one by one: play_and_get_digits with
no input, with an invalid `9#` and a valid `42#` (pressed with uuid_recv_dtmf from a second
connection), `read` timing out, `speak`, `record <path> 2`, `transfer 9300 XML default`;
then the call is killed. The socket must see the same events (names and header names), the
same replies and notices, and the results as the same channel variables."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.fixtures.esl_client import free_port
from tests.switchsim.captures import compare_channels, event_key, transcript
from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import Frame, RawESL

CAPTURE = "outbound-ivr.txt"
LEG = "5b1c8c52-8a43-4a3f-9c8e-3d1f0b0e9500"  # origination_uuid of the a leg

# Header names that differ for a reason, each with that reason: none (the record path and
# every uuid differ in value only).
IGNORE: dict[str, str] = {}
IGNORE_RE: dict[str, str] = {}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SwitchSim, int]]:
    port = free_port()
    s = SwitchSim(
        ["--playback-seconds", "0.2", "--outbound-socket", f"127.0.0.1:{port}"],
        tmp_path_factory.mktemp("ivr"),
    )
    yield s, port
    s.stop()


def _read_until(conn: RawESL, pred, timeout: float = 10.0) -> list[Frame]:
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        conn.sock.settimeout(max(0.05, deadline - time.monotonic()))
        frame = conn.read_frame()
        frames.append(frame)
        if pred(frame):
            return frames


def _complete(app: str):
    def pred(f: Frame) -> bool:
        e = f.event_dict() if f.content_type.startswith("text/event") else {}
        return e.get("Event-Name") == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application") == app

    return pred


@pytest.fixture(scope="module")
def run(sim: tuple[SwitchSim, int], tmp_path_factory: pytest.TempPathFactory) -> dict:
    s, port = sim
    listener = socket.create_server(("127.0.0.1", port))
    ctl = s.authed()
    ctl.pending = []
    out: dict = {"frames": [], "replies": []}

    def serve() -> None:
        sock, _ = listener.accept()
        conn = RawESL.__new__(RawESL)
        conn.sock, conn.buf, conn.pending = sock, b"", []
        record_path = tmp_path_factory.mktemp("ivrrec") / "ivr.wav"
        for command, _, _ in transcript(CAPTURE):
            if "execute-app-name: record" in command:
                command = command.rsplit("execute-app-arg: ", 1)[0] + (
                    f"execute-app-arg: {record_path} 2"
                )
            conn.send(command)
            frames = _read_until(conn, lambda f: f.content_type == "command/reply")
            out["replies"].append((command, frames[-1]))
            out["frames"] += frames[:-1]
            if command == "exit":
                out["frames"] += _read_until(
                    conn, lambda f: f.content_type == "text/disconnect-notice"
                )
                break
            app = ""
            if "execute-app-name: " in command:
                app = command.split("execute-app-name: ", 1)[1].split("\n", 1)[0]
            arg = command.split("execute-app-arg: ", 1)[1] if "execute-app-arg" in command else ""
            if app == "play_and_get_digits" and arg.startswith("2 4 1"):
                time.sleep(0.3)
                ctl.command(f"api uuid_recv_dtmf {out['b']} 9#")
            elif app == "play_and_get_digits" and arg.startswith("2 4 3"):
                time.sleep(0.3)
                ctl.command(f"api uuid_recv_dtmf {out['b']} 42#")
            if command == "connect":
                out["b"] = frames[-1].headers["Unique-ID"]
            if app == "transfer":
                out["frames"] += _read_until(
                    conn,
                    lambda f: (
                        f.content_type.startswith("text/event")
                        and f.event_dict().get("Event-Name") == "CHANNEL_PARK"
                    ),
                )
                ctl.command(f"api uuid_kill {LEG}")
                out["frames"] += _read_until(
                    conn, lambda f: f.content_type == "text/disconnect-notice"
                )
            elif app:
                out["frames"] += _read_until(conn, _complete(app), 15)
        sock.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    reply = ctl.command(
        "api originate {origination_uuid=" + LEG + ",origination_caller_id_number=5557000,"
        "origination_caller_id_name=IVR-Test}loopback/9500 &park()"
    )
    assert reply.body.startswith("+OK"), reply.body
    thread.join(60)
    listener.close()
    ctl.close()
    assert not thread.is_alive()
    return out


def _events(frames: list[Frame]) -> list[list[tuple[str, str]]]:
    return [f.event() for f in frames if f.content_type.startswith("text/event")]


def test_socket_sees_the_same_events_and_header_names(run: dict) -> None:
    expected = [e for _, _, evs in transcript(CAPTURE) for e in evs]
    got = _events(run["frames"])
    problems = compare_channels(expected, got, ignore=IGNORE, ignore_re=IGNORE_RE)
    assert not problems, "\n".join(problems)


def test_replies_and_notices_match(run: dict) -> None:
    expected = [
        (headers.get("Content-Type"), headers.get("Reply-Text"), headers.get("Content-Disposition"))
        for _, frames, _ in transcript(CAPTURE)
        for headers, _ in frames
        if headers.get("Content-Type") != "text/event-plain"
    ]
    got = []
    for _, reply in run["replies"]:
        got.append((reply.content_type, reply.headers.get("Reply-Text"), None))
    notices = [f for f in run["frames"] if f.content_type == "text/disconnect-notice"]
    got.insert(-1, ("text/disconnect-notice", None, notices[0].headers["Content-Disposition"]))
    got.append(("text/disconnect-notice", None, notices[-1].headers["Content-Disposition"]))
    assert got == expected


def test_results_are_variables_as_captured(run: dict) -> None:
    def results(events: list) -> list[tuple[str, dict[str, str]]]:
        keys = (
            "variable_read_result",
            "variable_ivr_digits",
            "variable_read_terminator_used",
            "variable_ivr_read",
            "variable_record_seconds",
            "Application-Response",
        )
        out = []
        for e in events:
            h = dict(e)
            if h["Event-Name"] == "CHANNEL_EXECUTE_COMPLETE":
                out.append((h["Application"], {k: h[k] for k in keys if k in h}))
        return out

    expected = [e for _, _, evs in transcript(CAPTURE) for e in evs]
    assert results(_events(run["frames"])) == results(expected)
    # `record <path> 2` stops after the whole-second limit has passed: 2.8 s captured
    stop = [dict(e) for e in _events(run["frames"]) if dict(e)["Event-Name"] == "RECORD_STOP"]
    assert 2000 < int(stop[0]["variable_record_ms"]) <= 3000
    # speak (flite) fires no PLAYBACK_* events: EXECUTE is followed by its EXECUTE_COMPLETE
    got = [(event_key(e), dict(e).get("Application")) for e in _events(run["frames"])]
    speak = got.index(("CHANNEL_EXECUTE", "speak"))
    assert got[speak + 1] == ("CHANNEL_EXECUTE_COMPLETE", "speak")
