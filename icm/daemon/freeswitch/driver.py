"""The switch driver: owns the ESL connection to one FreeSWITCH, keeps it alive, resyncs.

One greenlet runs `run()`: connect → subscribe → resync → watch → on loss, back off and
start again. Events are translated in the caller's consumer (see icm.daemon.wiring); this module
only moves frames, so greenswitch's reader greenlet never runs domain code.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import gevent
import gevent.event
from greenswitch.esl import NotConnectedError

from icm.daemon.switch import ResyncReady, SwitchNotConnected
from icm.domain import commands as cmd
from icm.domain import events as ev

from .connection import ApiReplyMarker, AuthenticationFailed, IcmInboundESL
from .registrations import registrations_from_show
from .render import Via, command_to_api, render
from .translator import (
    SUBSCRIBED_CUSTOM,
    SUBSCRIBED_EVENTS,
    gateways_from_xmlstatus,
    resync_from_show,
)

log = logging.getLogger(__name__)

RESYNC_COMMAND = command_to_api(cmd.ShowChannels())
BRIDGES_COMMAND = command_to_api(cmd.ShowCalls())
REGISTRATIONS_COMMAND = command_to_api(cmd.ShowRegistrations())
SETTLE_RESYNC_SECONDS = 3.0
"""A second resync this long after a (re)connect ends legs that FreeSWITCH's lagging channel
table still listed at the first one although they had already hung up."""
STABLE_SESSION_SECONDS = 10
RESTART_SEQUENCE_DROP = 10_000
"""An Event-Sequence this far below the highest seen is a restarted switch, not reordering
(FreeSWITCH's out-of-order delivery spans a few events)."""


@dataclass(frozen=True, slots=True)
class SwitchAddress:
    name: str
    host: str
    port: int
    password: str


class SwitchDriver:
    """Connects to one switch and feeds its events (decoded header dicts) into `sink`.

    `sink` also receives `ResyncReady` and `ev.SwitchConnectionChanged` items.
    """

    def __init__(
        self,
        address: SwitchAddress,
        sink: Callable[[object], None],
        *,
        connect_timeout: float = 5,
        command_timeout: float = 10,
        heartbeat_timeout: float = 45,
        backoff_initial: float = 0.2,
        backoff_max: float = 15,
    ) -> None:
        self.address = address
        self.sink = sink
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.heartbeat_timeout = heartbeat_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.connection: IcmInboundESL | None = None
        self.connected = gevent.event.Event()
        self._stopping = False
        self._calls_json = ""
        self._last_sequence = 0
        self._core_uuid = ""
        self._reported_up: bool | None = None

    # --- public --------------------------------------------------------------------------
    def run(self) -> None:
        """Keep a connection up until stop(); never raises."""
        delay = self.backoff_initial
        while not self._stopping:
            started = time.monotonic()
            try:
                self._session()
            except AuthenticationFailed as exc:
                log.error("switch %s: %s", self.address.name, exc)
                self._report_down(str(exc))
                delay = self.backoff_max
            except NotConnectedError as exc:
                log.warning("switch %s unreachable: %s", self.address.name, exc)
                self._report_down(str(exc))
            except Exception as exc:
                log.exception("switch %s: session failed", self.address.name)
                self._report_down(f"session failed: {exc}")
            if self._stopping:
                break
            if time.monotonic() - started > STABLE_SESSION_SECONDS:
                delay = self.backoff_initial  # it had been working: retry quickly
            sleep = delay * (0.8 + 0.4 * random.random())
            log.info("switch %s: reconnecting in %.1fs", self.address.name, sleep)
            gevent.sleep(sleep)
            delay = min(delay * 2, self.backoff_max)

    def _report_down(self, detail: str) -> None:
        """Tell the sink once that the switch is down (so pages and alarms can show it)."""
        if self._reported_up is not False:
            self._reported_up = False
            self.sink(ev.SwitchConnectionChanged(self.address.name, False, _now(), detail))

    def stop(self) -> None:
        self._stopping = True
        if self.connection is not None:
            self.connection.close("icm stopping")

    def api(self, command: cmd.SwitchCommand) -> str:
        """Run an api command on the switch and return its reply body (a `sendevent`'s:
        its Reply-Text, `+OK <event uuid>`)."""
        frame = render(command, Via.API)
        try:
            reply = self._connection().send(frame)
            return reply.data or reply.headers.get("Reply-Text", "")
        except NotConnectedError as exc:
            raise SwitchNotConnected(str(exc)) from exc

    def bgapi_nowait(self, command: cmd.SwitchCommand) -> str:
        """Start a bgapi job without waiting for the switch's reply; returns our Job-UUID,
        which the BACKGROUND_JOB event carries back with the result."""
        job = str(uuid.uuid4())
        frame = render(command, Via.BGAPI, job)
        try:
            self._connection().send_nowait(frame)
        except NotConnectedError as exc:
            raise SwitchNotConnected(str(exc)) from exc
        return job

    def bgapi(self, command: cmd.SwitchCommand) -> str:
        """Run a bgapi command; returns the Job-UUID reply text."""
        frame = render(command, Via.BGAPI)
        try:
            return self._connection().send(frame).headers.get("Reply-Text", "")
        except NotConnectedError as exc:
            raise SwitchNotConnected(str(exc)) from exc

    def gateway_states(self) -> list[ev.GatewayStateChanged]:
        """Every gateway's state from `sofia xmlstatus gateway`."""
        reply = self.api(cmd.GatewayStatus())
        return gateways_from_xmlstatus(self.address.name, reply, _now())

    def _connection(self) -> IcmInboundESL:
        conn = self.connection
        if conn is None or not conn.connected:
            raise NotConnectedError(f"switch {self.address.name} is not connected")
        return conn

    # --- one connection ------------------------------------------------------------------
    def _session(self) -> None:
        addr = self.address
        conn = IcmInboundESL(
            addr.host,
            addr.port,
            addr.password,
            timeout=self.connect_timeout,
            command_timeout=self.command_timeout,
            sink=self._on_frame,
        )
        conn.connect()
        self.connection = conn
        try:
            names = " ".join(SUBSCRIBED_EVENTS) + " CUSTOM " + " ".join(SUBSCRIBED_CUSTOM)
            reply = conn.send(f"event json {names}")
            if not reply.headers.get("Reply-Text", "").startswith("+OK"):
                raise NotConnectedError(f"event subscription refused: {reply.headers}")
            # a new connection resyncs anyway: the first events may come from a restarted
            # switch (new Core-UUID, low sequence) without that being another restart
            self._last_sequence = 0
            self._core_uuid = ""
            self._request_resync(conn)
            self.connected.set()
            self._reported_up = True
            self.sink(
                ev.SwitchConnectionChanged(addr.name, True, _now(), f"{addr.host}:{addr.port}")
            )
            log.info("switch %s connected at %s:%s", addr.name, addr.host, addr.port)
            watchdog = gevent.spawn(self._watch_heartbeat, conn)
            settle = gevent.spawn_later(SETTLE_RESYNC_SECONDS, self._resync_now)
            conn.closed.wait()
            watchdog.kill()
            settle.kill()
        finally:
            conn.close("session over")
            self.connection = None
            self.connected.clear()
            if self._reported_up:
                self._reported_up = False
                self.sink(ev.SwitchConnectionChanged(addr.name, False, _now(), "connection lost"))

    def _watch_heartbeat(self, conn: IcmInboundESL) -> None:
        """Declare a half-open connection dead after `heartbeat_timeout` s of silence."""
        while not conn.closed.is_set():
            gevent.sleep(min(1.0, self.heartbeat_timeout / 4))
            silent = time.monotonic() - conn.last_received
            if silent > self.heartbeat_timeout:
                log.warning(
                    "switch %s silent for %.0fs (no HEARTBEAT): dropping the connection",
                    self.address.name,
                    silent,
                )
                conn.close("heartbeat timeout")

    def _request_resync(self, conn: IcmInboundESL) -> None:
        """Ask for the phones' registrations, bridge pairs and the channel list; the replies
        come back in-stream (in order with the events)."""
        self.sink(ev.ResyncStarted(self.address.name, _now()))
        conn.api_in_stream(REGISTRATIONS_COMMAND)
        conn.api_in_stream(BRIDGES_COMMAND)
        conn.api_in_stream(RESYNC_COMMAND)

    def _on_frame(self, item: object) -> None:
        """Runs in the reader greenlet: keep it tiny."""
        if isinstance(item, ApiReplyMarker):
            if item.command == REGISTRATIONS_COMMAND:
                try:
                    self.sink(registrations_from_show(self.address.name, item.body, _now()))
                except ValueError as exc:  # calls still work: offers fail as before
                    log.error("switch %s: unusable registrations: %s", self.address.name, exc)
            elif item.command == BRIDGES_COMMAND:
                self._calls_json = item.body
            elif item.command == RESYNC_COMMAND:
                try:
                    snapshot = resync_from_show(
                        self.address.name, item.body, self._calls_json, _now()
                    )
                except ValueError as exc:
                    log.error("switch %s: unusable resync reply: %s", self.address.name, exc)
                    if self.connection is not None:
                        self.connection.close("resync failed")
                    return
                self.sink(ResyncReady(snapshot))
            return
        if isinstance(item, dict):
            self._check_sequence(item)
        self.sink(item)

    def _check_sequence(self, headers: dict[str, str]) -> None:
        # Event-Sequence is global to the switch, so gaps are normal with a filtered
        # subscription, and FreeSWITCH does not deliver events in sequence order (its
        # dispatch threads race: RECORD_STOP 681 was seen before CHANNEL_UNBRIDGE 680). Only a
        # new Core-UUID, or a sequence far below the highest seen (a switch that restarted
        # without a new core id reaching us), means the switch restarted under us: resync.
        core = headers.get("Core-UUID", "")
        try:
            seq = int(headers.get("Event-Sequence", "0"))
        except ValueError:
            return
        new_core = bool(self._core_uuid and core and core != self._core_uuid)
        jumped_back = bool(seq and seq < self._last_sequence - RESTART_SEQUENCE_DROP)
        if (new_core or jumped_back) and self.connection is not None:
            log.warning(
                "switch %s restarted (Event-Sequence %s after %s, core %s): resyncing",
                self.address.name,
                seq,
                self._last_sequence,
                core,
            )
            gevent.spawn(self._resync_now)
            self._last_sequence = seq
        if core:
            self._core_uuid = core
        if seq > self._last_sequence:
            self._last_sequence = seq

    def _resync_now(self) -> None:
        conn = self.connection
        if conn is None:
            return
        try:
            self._request_resync(conn)
        except NotConnectedError as exc:
            log.warning("switch %s: resync failed: %s", self.address.name, exc)


def _now() -> datetime:
    return datetime.now(tz=UTC)
