"""A tiny raw-socket ESL client for protocol-level tests (frames exactly as received)."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse


class Frame:
    def __init__(self, headers: dict[str, str], body: str, raw: bytes) -> None:
        self.headers = headers
        self.body = body
        self.raw = raw

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def event(self) -> list[tuple[str, str]]:
        """Decoded (name, value) headers of a text/event-plain or -json body."""
        if self.content_type == "text/event-json":
            obj = json.loads(self.body)
            return [(k, v) for k, v in obj.items()]
        head = self.body.split("\n\n", 1)[0]
        out = []
        for line in head.split("\n"):
            if ": " in line:
                k, v = line.split(": ", 1)
                out.append((k, urllib.parse.unquote(v)))
        return out

    def event_dict(self) -> dict[str, str]:
        return dict(self.event())

    def event_body(self) -> str:
        """The body inside a text/event-plain event (a BACKGROUND_JOB's reply), else ""."""
        if self.content_type == "text/event-json":
            return json.loads(self.body).get("_body", "")
        return self.body.split("\n\n", 1)[1] if "\n\n" in self.body else ""


class RawESL:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\n\n")

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def read_frame(self) -> Frame:
        while b"\n\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\n\n")
        headers = {}
        for line in head.decode().split("\n"):
            k, _, v = line.partition(": ")
            headers[k] = v
        n = int(headers.get("Content-Length", "0"))
        while len(rest) < n:
            self.buf = head + b"\n\n" + rest
            self._fill()
            head, _, rest = self.buf.partition(b"\n\n")
        body, self.buf = rest[:n], rest[n:]
        return Frame(headers, body.decode(), head + b"\n\n" + body)

    def auth(self, password: str = "ClueCon") -> Frame:
        assert self.read_frame().content_type == "auth/request"
        self.send(f"auth {password}")
        return self.read_frame()

    def command(self, text: str) -> Frame:
        """Send a command and return its reply, skipping (and keeping) events."""
        self.send(text)
        while True:
            f = self.read_frame()
            if f.content_type in ("command/reply", "api/response"):
                return f
            self.pending.append(f)

    pending: list[Frame]

    def events_until(self, pred, timeout: float = 5.0) -> list[Frame]:
        """Collect event frames until pred(frame) is true for one of them."""
        if not hasattr(self, "pending"):
            self.pending = []
        got = []
        deadline = time.monotonic() + timeout
        while True:
            if self.pending:
                f = self.pending.pop(0)
            else:
                self.sock.settimeout(max(0.05, deadline - time.monotonic()))
                f = self.read_frame()
            got.append(f)
            if pred(f):
                return got
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; got {len(got)} frames")


class EventLog:
    """An authenticated connection with ``event plain ALL`` that keeps every event it reads
    (as dicts) so a test can wait for, and then look back at, what happened."""

    def __init__(self, esl: RawESL) -> None:
        self.esl = esl
        self.esl.pending = []
        self.events: list[dict[str, str]] = []
        assert esl.command("event plain ALL").headers["Reply-Text"].startswith("+OK")
        self._keep()

    def _keep(self) -> None:
        while self.esl.pending:
            frame = self.esl.pending.pop(0)
            if frame.content_type.startswith("text/event"):
                self.events.append(self._event(frame))

    @staticmethod
    def _event(frame: Frame) -> dict[str, str]:
        event = frame.event_dict()
        if event.get("Event-Name") == "BACKGROUND_JOB":
            event["_body"] = frame.event_body()  # the job's reply
        return event

    def api(self, cmd: str) -> str:
        body = self.esl.command(f"api {cmd}").body
        self._keep()
        return body

    def wait(self, pred, timeout: float = 5.0):
        """Read events until ``pred(events)`` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                value = pred(self.events)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("condition not met in time")
                self._read(left)
        finally:
            self.esl.sock.settimeout(5.0)

    def _read(self, seconds: float) -> None:
        self.esl.sock.settimeout(max(0.01, seconds))
        try:
            frame = self.esl.read_frame()
        except TimeoutError:
            return
        if frame.content_type.startswith("text/event"):
            self.events.append(self._event(frame))

    def settle(self, seconds: float = 0.3) -> None:
        """Collect whatever arrives in the next ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                self._read(deadline - time.monotonic())
        finally:
            self.esl.sock.settimeout(5.0)

    def close(self) -> None:
        self.esl.close()


# -- helpers for call tests driving loopback legs through an EventLog ------------------------
Events = list[dict[str, str]]


def parked_leg(log: EventLog, park_after_bridge: bool = False) -> str:
    """A parked loopback a-leg (``originate … &park()``)."""
    variables = "{park_after_bridge=true}" if park_after_bridge else ""
    out = log.api(f"originate {variables}loopback/9199/default &park()")
    assert out.startswith("+OK "), out
    uuid = out.split()[1]
    log.wait(lambda ev: parked(ev, uuid))
    return uuid


def parked(events: Events, uuid: str) -> list[dict[str, str]]:
    return [e for e in events if e.get("Event-Name") == "CHANNEL_PARK" and e["Unique-ID"] == uuid]


def bridged(events: Events, a: str, b: str) -> list[dict[str, str]]:
    return [
        e
        for e in events
        if e.get("Event-Name") == "CHANNEL_BRIDGE"
        and e["Unique-ID"] == a
        and e["Other-Leg-Unique-ID"] == b
    ]


def named(events: Events, name: str, uuid: str) -> list[dict[str, str]]:
    return [e for e in events if e.get("Event-Name") == name and e.get("Unique-ID") == uuid]


def bridge(log: EventLog, a: str, b: str) -> int:
    """uuid_bridge a b and wait for it; the index of the events that follow."""
    mark = len(log.events)
    assert log.api(f"uuid_bridge {a} {b}") == f"+OK {b}\n"
    log.wait(lambda ev: bridged(ev[mark:], a, b))
    return mark
