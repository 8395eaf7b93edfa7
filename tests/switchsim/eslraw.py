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

    def events_until(self, pred, timeout: float = 5.0) -> list[Frame]:  # noqa: ANN001
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
