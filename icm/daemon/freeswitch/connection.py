"""A hardened greenswitch InboundESL: JSON events, bounded frames, command time-outs.

Works around greenswitch 0.0.19 gaps (a subclass, not a fork):
- a command whose reply never comes (socket dropped, half-open) blocked forever: every command
  now waits at most `command_timeout`, and all waiting commands fail when the socket closes;
- it sends with `send`, which may write part of a frame: we use `sendall`;
- it parses only plain events, spending most of its time in `unquote` over the whole frame:
  with `event json` we decode the body with `orjson.loads` (from bytes: it checks UTF-8);
  plain bodies are decoded per value;
- it trusts Content-Length: a negative, non-numeric or huge value (FreeSWITCH caps frames at
  16 MiB) now drops the connection with a log line instead of killing the reader.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

import gevent
import gevent.event
import gevent.socket
import orjson
from greenswitch.esl import ESLEvent, InboundESL, NotConnectedError

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 16 * 1024 * 1024


class CommandTimeout(NotConnectedError):
    """No reply to an ESL command in time; the connection is closed (its stream is unusable)."""


class MalformedFrame(Exception):
    """The peer sent a frame we cannot parse safely."""


class _Closed(Exception):
    """Raised inside the reader when the connection was closed under it."""


def parse_plain_body(data: str) -> dict[str, str]:
    """Decode a text/event-plain body: `Name: url-encoded value` lines, then an optional body."""
    headers: dict[str, str] = {}
    head, sep, body = data.partition("\n\n")
    for line in head.split("\n"):
        name, colon, value = line.partition(": ")
        if not colon:
            continue
        headers[name] = unquote(value) if "%" in value else value
    if sep and body:
        headers["_body"] = body
    return headers


def content_length(headers: dict[str, str]) -> int:
    """The frame's Content-Length, validated (0 when absent)."""
    raw = headers.get("Content-Length")
    if raw is None:
        return 0
    try:
        length = int(raw)
    except ValueError as exc:
        raise MalformedFrame(f"non-numeric Content-Length {raw[:32]!r}") from exc
    if length < 0 or length > MAX_FRAME_BYTES:
        raise MalformedFrame(f"Content-Length {length} out of range")
    return length


class AuthenticationFailed(NotConnectedError):
    """The switch refused our event-socket password."""


@dataclass(frozen=True, slots=True)
class ApiReplyMarker:
    """An api reply delivered in-stream: every event before it was received before it."""

    command: str
    body: str


def _drop(item: object) -> None:
    return None


class IcmInboundESL(InboundESL):
    """InboundESL with the fixes above.

    Events go straight from the reader greenlet to `sink` (decoded header dicts), in stream
    order; `api_in_stream` replies are put into the same sink, so a resync snapshot lands at
    the exact point of the event stream where the switch produced it.
    """

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        timeout: float = 5,
        command_timeout: float = 10,
        sink: Callable[[object], None] = _drop,
    ) -> None:
        super().__init__(host, port, password, timeout=timeout)
        self.command_timeout = command_timeout
        self.sink = sink
        self.last_received = time.monotonic()
        self.events_received = 0
        self.closed = gevent.event.Event()
        self._in_stream: dict[int, str] = {}

    # --- connecting ----------------------------------------------------------------------
    def connect(self) -> None:
        """Connect and authenticate, never waiting longer than `timeout` for the switch."""
        try:
            self.sock = gevent.socket.create_connection(
                (self.host, self.port), timeout=self.timeout
            )
        except OSError as exc:
            raise NotConnectedError(f"cannot reach {self.host}:{self.port}: {exc}") from exc
        self.sock.settimeout(None)
        self.connected = True
        self.sock_file = self.sock.makefile("rb")
        self._receive_events_greenlet = gevent.spawn(self.receive_events)
        if not self._auth_request_event.wait(timeout=self.timeout):
            self.close("no auth/request from the switch")
            raise NotConnectedError(f"{self.host}:{self.port} sent no auth/request")
        if not self.connected:
            raise NotConnectedError(f"{self.host}:{self.port} closed the connection")
        reply = self.send(f"auth {self.password}")
        if reply.headers.get("Reply-Text") != "+OK accepted":
            self.close("authentication refused")
            raise AuthenticationFailed(f"{self.host}:{self.port} refused the ESL password")

    def api_in_stream(self, command: str) -> None:
        """Send `api command`; its reply goes to the sink as an ApiReplyMarker, in order."""
        reply = gevent.event.AsyncResult()
        self._in_stream[id(reply)] = command
        self._send_raw(f"api {command}", reply)

    # --- sending -------------------------------------------------------------------------
    def send(self, data: str):
        reply = gevent.event.AsyncResult()
        self._send_raw(data, reply)
        try:
            return reply.get(timeout=self.command_timeout)
        except gevent.Timeout as exc:
            self.close(f"no reply to {data.split(' ', 2)[:2]} in {self.command_timeout}s")
            raise CommandTimeout(f"no reply to {data[:40]!r}") from exc

    def send_nowait(self, data: str) -> gevent.event.AsyncResult:
        """Send a command without waiting for its reply (which the reader still consumes, in
        order). For bgapi with our own Job-UUID: the outcome arrives as BACKGROUND_JOB."""
        reply = gevent.event.AsyncResult()
        self._send_raw(data, reply)
        return reply

    def _send_raw(self, data: str, reply: gevent.event.AsyncResult) -> None:
        if not self.connected:
            raise NotConnectedError("not connected")
        self._commands_sent.append(reply)
        try:
            self.sock.sendall((data + "\n\n").encode("utf-8"))
        except OSError as exc:
            self.close(f"send failed: {exc}")
            raise NotConnectedError(str(exc)) from exc

    # --- receiving -----------------------------------------------------------------------
    def receive_events(self) -> None:
        try:
            super().receive_events()
        except _Closed:
            pass
        except MalformedFrame as exc:
            if self.closed.is_set():
                return
            log.warning(
                "esl %s:%s malformed frame, dropping connection: %s", self.host, self.port, exc
            )
        except Exception:
            log.exception("esl %s:%s reader failed", self.host, self.port)
        finally:
            self.close("connection closed")
            try:
                self.sock_file.close()  # only this greenlet may close the file it reads
            except (OSError, ValueError, RuntimeError):
                pass

    def handle_event(self, event: ESLEvent) -> None:
        if self.closed.is_set():
            raise _Closed  # ends the reader loop quietly
        self.last_received = time.monotonic()
        headers = event.headers
        ctype = headers.get("Content-Type")
        if ctype in ("text/event-json", "text/event-plain"):
            raw = read_exactly(self.sock_file, content_length(headers))
            if ctype == "text/event-json":
                event.headers = json_event(raw)
            else:
                event.headers = parse_plain_body(_utf8(raw))
            self.events_received += 1
            event.headers["_rx"] = time.perf_counter()  # for dispatch-latency figures
            self.sink(event.headers)
            return
        if ctype in ("api/response", "command/reply") and not self._commands_sent:
            raise MalformedFrame(f"unsolicited {ctype}")
        if ctype == "api/response":
            body = self._read_socket(self.sock_file, content_length(headers))
            reply = self._commands_sent.pop(0)
            command = self._in_stream.pop(id(reply), None)
            if command is not None:
                self.sink(ApiReplyMarker(command, body))
            event.data = body
            reply.set(event)
            return
        if ctype not in ("auth/request", "command/reply", "text/disconnect-notice"):
            content_length(headers)  # validate before greenswitch trusts it
        super().handle_event(event)

    @staticmethod
    def _read_socket(sock, length: int) -> str:
        return _utf8(read_exactly(sock, length))

    # --- closing -------------------------------------------------------------------------
    def close(self, reason: str) -> None:
        """Close the socket and fail every command still waiting for a reply."""
        if self.closed.is_set():
            return
        self.connected = False
        self._run = False
        log.info("esl %s:%s closed: %s", self.host, self.port, reason)
        pending, self._commands_sent = self._commands_sent, []
        for reply in pending:
            reply.set_exception(NotConnectedError(reason))
        # The reader's file object keeps the socket open: shut it down so the reader wakes
        # up (it closes its file itself, see receive_events) and the descriptor is freed.
        for close in (lambda: self.sock.shutdown(gevent.socket.SHUT_RDWR), self.sock.close):
            try:
                close()
            except (OSError, ValueError, AttributeError):
                pass
        self.closed.set()


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedFrame("frame is not UTF-8") from exc


def read_exactly(sock, length: int) -> bytes:
    """A frame's body: `length` bytes from the socket file."""
    data = sock.read(length) if length else b""
    while len(data) < length:
        more = sock.read(length - len(data))
        if not more:
            raise MalformedFrame("connection closed inside a frame")
        data += more
    return data


def json_event(raw: bytes) -> dict:
    """An `event json` body decoded (orjson checks UTF-8 as it goes)."""
    try:
        headers = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:  # bad JSON or not UTF-8
        raise MalformedFrame(f"bad json event: {exc}") from exc
    if not isinstance(headers, dict):
        raise MalformedFrame("json event is not an object")
    return headers
