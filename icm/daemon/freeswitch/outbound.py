"""icm's outbound-socket server: FreeSWITCH's `socket` dialplan app connects here per IVR call.

Only the switch may connect: a peer outside the allowed networks (`ICM_OUTBOUND_ALLOWED`;
loopback when it is empty) is closed at once, and a session whose Unique-ID is not a
UUID is refused before anything runs (greenswitch URL-decodes the connect reply, so a peer
could otherwise hand icm a "uuid" holding line breaks). Sessions act on their call only
through `execute(<domain application>)` and `api(<domain command>)`, rendered by
`icm.daemon.freeswitch.render`.

greenswitch's OutboundESLServer polls a non-blocking accept and sleeps 100 ms when idle,
adding up to 100 ms to every IVR call's set-up; this subclass blocks on accept (cooperative
under gevent), so a call is taken the moment it connects. Sessions subscribe with
`myevents json` and decode with `orjson`: greenswitch's plain-event parser (`unquote`
over every frame) cost ~4 ms of CPU per IVR call.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable
from typing import Any

import gevent
import gevent.event
import gevent.socket
from greenswitch.esl import (
    NotConnectedError,
    OutboundESLServer,
    OutboundSession,
    OutboundSessionHasGoneAway,
)

from icm.daemon.switch import CallGone, CallInfo
from icm.domain import commands as cmd

from .connection import content_length, json_event, read_exactly
from .render import Via, app_of, is_uuid, render

log = logging.getLogger(__name__)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


LOOPBACK = ("127.0.0.0/8", "::1/128")


def allowed_networks(allowed: Iterable[str]) -> tuple[Network, ...]:
    """The networks or addresses of `ICM_OUTBOUND_ALLOWED`; loopback when none are given."""
    items = [item.strip() for item in allowed if item.strip()] or list(LOOPBACK)
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def peer_allowed(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks if ip.version == network.version)


class SessionGone(CallGone, NotConnectedError, OutboundSessionHasGoneAway):
    """The channel or its socket is gone: `CallGone` for the IVR, greenswitch's own
    exceptions for greenswitch's code."""


class IcmOutboundSession(OutboundSession):
    """OutboundSession receiving its channel's events as JSON; it runs applications only
    from domain commands (`execute`), each rendered and checked by
    icm.daemon.freeswitch.render. It is the FreeSWITCH `CallSession` (icm.daemon.switch)."""

    @property
    def info(self) -> CallInfo:
        """The call as FreeSWITCH described it when it connected the socket."""
        data = self.session_data or {}
        uuid = data.get("Unique-ID", "")
        return CallInfo(
            uuid=uuid,
            call_uuid=data.get("Channel-Call-UUID") or uuid,
            dnis=data.get("Channel-Destination-Number")
            or data.get("Caller-Destination-Number", ""),
            ani=data.get("Channel-Caller-ID-Number") or data.get("Caller-Caller-ID-Number", ""),
            caller_name=(
                data.get("Channel-Caller-ID-Name") or data.get("Caller-Caller-ID-Name", "")
            ),
            variables={
                key.removeprefix("variable_"): value
                for key, value in data.items()
                if key.startswith("variable_")
            },
        )

    @property
    def up(self) -> bool:
        return bool(self._outbound_connected and self.connected)

    def keep_events(self) -> None:
        self.myevents()
        self.linger()

    def on_dtmf(self, handler: Callable[[str], None]) -> None:
        self.register_handle("DTMF", lambda event: handler(event.headers.get("DTMF-Digit", "")))

    def on_back_from_bridge(self, handler: Callable[[bool], None]) -> None:
        """FreeSWITCH parks the survivor of a bridge whose other leg hung up when it has
        `park_after_bridge=true` (switch_ivr_bridge.c, switch_ivr_multi_threaded_bridge):
        CHANNEL_UNBRIDGE, then CHANNEL_PARK on this channel (so does a `uuid_park` during a
        bridge). A PARK before any BRIDGE is the socket application's own park
        (mod_event_socket's socket_function). Events may arrive out of order: the channel is
        parked after a bridge when its latest PARK's Event-Sequence is above its latest
        BRIDGE's, whichever came first."""
        latest = {"CHANNEL_BRIDGE": 0, "CHANNEL_PARK": 0}

        def on_event(event: Any) -> None:
            name = event.headers.get("Event-Name", "")
            try:
                seq = int(event.headers.get("Event-Sequence", "0"))
            except ValueError:
                return
            latest[name] = max(latest[name], seq)
            bridge, park = latest["CHANNEL_BRIDGE"], latest["CHANNEL_PARK"]
            handler(bool(bridge) and park > bridge)

        self.register_handle("CHANNEL_BRIDGE", on_event)
        self.register_handle("CHANNEL_PARK", on_event)

    def send(self, data: str) -> Any:
        try:
            return super().send(data)
        except (OutboundSessionHasGoneAway, NotConnectedError) as exc:
            raise SessionGone(str(exc)) from exc

    def execute(self, app: cmd.App, block: bool = False, timeout: float | None = None) -> Any:
        """Run one application on this call; with `block`, wait for it to finish (its
        CHANNEL_EXECUTE_COMPLETE event, returned) at most `timeout` seconds."""
        frame = render(app, Via.SENDMSG)  # refuses an unsafe argument before anything is sent
        if self._lingering:
            raise SessionGone("the channel hung up")
        if not block:
            return self.send(frame)
        done = gevent.event.AsyncResult()
        self.register_expected_event(
            "CHANNEL_EXECUTE_COMPLETE", "current_application", app_of(app)[0], done
        )
        self.send(frame)
        try:
            return done.get(block=True, timeout=timeout)
        except (OutboundSessionHasGoneAway, NotConnectedError) as exc:  # hung up meanwhile
            raise SessionGone(str(exc)) from exc

    def api(self, command: cmd.SwitchCommand) -> Any:
        """Run an api command over this session's socket."""
        return self.send(render(command, Via.API))

    def call_command(self, *args: object, **kwargs: object) -> None:
        raise TypeError("an outbound session runs domain applications: use execute()")

    def answer(self) -> Any:
        return self.execute(cmd.Answer()).data

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        self.execute(cmd.Hangup(cause))

    def playback(self, path: str, block: bool = True) -> Any:
        return self.execute(cmd.Playback(path), block=block)

    def myevents(self) -> None:
        self.send("myevents json")

    def handle_event(self, event) -> None:
        if event.headers.get("Content-Type") == "text/event-json":
            raw = read_exactly(self.sock_file, content_length(event.headers))
            event.headers = json_event(raw)
            self._esl_event_queue.put(event)
            return
        super().handle_event(event)


class OutboundServer(OutboundESLServer):
    """OutboundESLServer with a blocking accept loop, a clean stop, a peer allow-list and a
    Unique-ID check."""

    def __init__(self, *args: Any, allowed: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = allowed_networks(allowed)
        self.refused = 0  # peers and sessions turned away (tests, logs)

    def listen(self) -> None:
        self.server = gevent.socket.socket()
        self.server.setsockopt(gevent.socket.SOL_SOCKET, gevent.socket.SO_REUSEADDR, 1)
        self.server.bind((self.bind_address, self.bind_port[0]))
        self.bound_port = self.server.getsockname()[1]
        self.server.listen(128)
        self._running = True
        log.info("outbound socket server listening on %s:%s", self.bind_address, self.bound_port)
        while self._running:
            try:
                sock, client_address = self.server.accept()
            except OSError:
                if not self._running:
                    break
                log.exception("outbound socket accept failed")
                gevent.sleep(0.1)
                continue
            if not peer_allowed(str(client_address[0]), self.allowed):
                self.refused += 1
                log.warning(
                    "outbound socket: refused a connection from %s (not in ICM_OUTBOUND_ALLOWED)",
                    client_address[0],
                )
                sock.close()
                continue
            session = IcmOutboundSession(client_address, sock)
            gevent.spawn(self._accept_call_safely, session)

    def _handle_call(self, session: OutboundSession) -> None:
        session.connect()
        uuid = str((session.session_data or {}).get("Unique-ID", ""))
        if not is_uuid(uuid):
            self.refused += 1
            log.warning(
                "outbound socket: refused a session from %s with Unique-ID %r",
                session.sock.getpeername()[0] if session.sock else "?",
                uuid[:80],
            )
            _drop(session)  # no `exit`: a hostile peer that never answers must not hold us
            return
        super()._handle_call(session)

    def _accept_call_safely(self, session: OutboundSession) -> None:
        try:
            self._accept_call(session)
        except Exception:
            log.exception("outbound session from %s failed to start", session.sock)
            try:
                session.stop()
            except Exception:  # noqa: S110 - the socket is already gone
                pass

    def stop(self) -> None:
        self._running = False
        if self.server is not None:
            self.server.close()


def _drop(session: OutboundSession) -> None:
    """Close a refused session's socket at once; its reader greenlet ends on the EOF."""
    session.connected = False
    session._run = False
    try:
        session.sock.shutdown(gevent.socket.SHUT_RDWR)
    except OSError:
        pass
    session.sock.close()
