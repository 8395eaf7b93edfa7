"""One ESL connection (inbound client or outbound ``socket`` session): commands and events.

Owns mod_event_socket's per-listener behaviour: authentication, ``event``/``nixevent``/
``noevents`` subscriptions (CUSTOM subclasses), ``filter``, ``myevents``, ``linger``,
``sendmsg``, ``api``/``bgapi`` (BACKGROUND_JOB), ``log``/``nolog``, ``exit``, the
reply texts, and event delivery (format, pause for ``sim_pause_esl``).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import random
import re
import uuid as uuidlib
from typing import Any

from switchsim.api import execute_api
from switchsim.channel import Channel
from switchsim.esl_reader import Command, ProtocolError, read_command
from switchsim.events import EVENT_NAMES, Event
from switchsim.switch import W_BGJOB
from switchsim.wire import api_response, command_reply, disconnect_notice

log = logging.getLogger(__name__)

# --reorder-window: how long an event held back for reordering may wait for the events that
# overtake it (FreeSWITCH's dispatch threads only swap events fired close together)
REORDER_HOLD = 0.005

LOG_LEVELS = {
    "console": 0,
    "alert": 1,
    "crit": 2,
    "err": 3,
    "error": 3,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}


class EslConnection:
    """State and command handling for one ESL socket."""

    def __init__(
        self,
        server: Any,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        session: Channel | None = None,
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.session = session
        self.outbound = session is not None
        self.authed = self.outbound
        self.format = "plain"
        self.events_on = False
        self.all_events = False
        self.names: set[str] = set()
        self.subclasses: set[str] = set()
        self.filters: list[tuple[str, str]] = []
        self.myevents = False
        self.linger = False
        self.linger_time = -1
        self.resume = False
        self.logging = False
        self.closed = False
        self.paused = False
        self.pending: list[bytes] = []
        self.running = True
        self.async_mode = True
        self.full = True
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        # --reorder-window (inbound connections only): events held back, a heap of
        # (due position, position, frame), and a seeded generator per connection
        config = getattr(server, "config", None)
        self.reorder_window = 0 if self.outbound else getattr(config, "reorder_window", 0)
        self._offered = 0
        self._held: list[tuple[int, int, bytes]] = []
        self._flush: asyncio.TimerHandle | None = None
        if self.reorder_window:
            index = server.next_connection_index()
            seed = getattr(config, "seed", None)
            self._rng = random.Random(f"{seed}:{index}" if seed is not None else None)

    # -- output ----------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if self.paused:
            self.pending.append(data)
            return
        transport = self.writer.transport
        if transport is None or transport.is_closing():
            # the peer has gone (or we closed): asyncio would drop the data and log
            # "socket.send() raised exception." for every write after the fifth
            return
        try:
            self.writer.write(data)
        except (ConnectionError, RuntimeError):
            self.closed = True

    def pause(self, seconds: float) -> None:
        self.paused = True
        asyncio.get_running_loop().call_later(seconds, self.unpause)

    def unpause(self) -> None:
        self.paused = False
        pending, self.pending = self.pending, []
        for data in pending:
            self.send(data)

    def abort(self) -> None:
        """Drop the TCP connection without any notice (sim_drop_esl)."""
        self.closed = True
        self.running = False
        transport = self.writer.transport
        if transport is not None:
            transport.abort()

    def close_with_notice(self) -> None:
        self.send(disconnect_notice(self.session.uuid if self.session else None))
        self.closed = True
        self.running = False
        try:
            self.writer.close()
        except (ConnectionError, RuntimeError):
            pass

    # -- events ----------------------------------------------------------------------------
    def offer(self, event: Event) -> None:
        if not self.events_on or self.closed:
            return
        name = event.name
        if not self.all_events:
            if name not in self.names:
                return
            if name == "CUSTOM" and event.subclass not in self.subclasses:
                return
        if self.filters and not self._pass_filters(event):
            return
        if self.myevents and self.session is not None:
            uid, owner = event.route_ids()
            if uid != self.session.uuid and owner != self.session.uuid:
                return
        if self.reorder_window:
            self._deliver_reordered(event.frame(self.format))
        else:
            self.send(event.frame(self.format))

    def _deliver_reordered(self, frame: bytes) -> None:
        """Deliver an event up to ``reorder_window`` events after its turn: each offered
        event is due a random 0…N positions later; a held event never waits for more than
        N later ones, nor longer than REORDER_HOLD when no more events come."""
        self._offered += 1
        pos = self._offered
        heapq.heappush(self._held, (pos + self._rng.randint(0, self.reorder_window), pos, frame))
        while self._held and self._held[0][0] <= pos:
            self.send(heapq.heappop(self._held)[2])
        if self._held and self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(REORDER_HOLD, self._flush_held)

    def _flush_held(self) -> None:
        self._flush = None
        while self._held:
            self.send(heapq.heappop(self._held)[2])

    def _pass_filters(self, event: Event) -> bool:
        send = False
        for hname, hval in self.filters:
            value = event.get(hname)
            if value is None:
                continue
            comp, pos = hval, True
            while comp and comp[0] in "+- ":
                if comp[0] == "+":
                    pos = True
                elif comp[0] == "-":
                    pos = False
                comp = comp[1:]
            if send and pos:
                continue
            if hval.startswith("/"):
                try:
                    cmp = re.search(comp.strip("/"), value) is not None
                except re.error:
                    cmp = False
            else:
                cmp = value.lower() == comp.lower()
            if cmp:
                if not pos:
                    return False
                send = True
        return send

    # -- main loop -------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve commands until exit, EOF or a protocol error."""
        try:
            while self.running:
                cmd = await read_command(self.reader)
                if cmd is None:
                    break
                await self.handle(cmd)
                if not self.closed:
                    await self.writer.drain()
        except ProtocolError as exc:
            log.warning("ESL %s: %s; dropping the connection", self.peer, exc)
            self.abort()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("ESL %s: connection lost (%s)", self.peer, exc)
        finally:
            self.running = False
            self.closed = True
            if not self.writer.is_closing():
                self.writer.close()

    async def handle(self, cmd: Command) -> None:
        line = cmd.line
        low = line.lower()
        if self.server.config.command_log is not None:
            with self.server.config.command_log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
        if low.startswith("exit") or low.startswith("..."):
            self.send(command_reply("+OK bye"))
            self.close_with_notice()
            return
        if not self.authed:
            if low.startswith("auth "):
                if line[5:].strip() == self.server.config.esl_password:
                    self.authed = True
                    self.send(command_reply("+OK accepted"))
                else:
                    self.send(command_reply("-ERR invalid"))
                    self.close_with_notice()
            else:
                self.send(command_reply("-ERR command not found"))
            return
        reply = await self.dispatch(cmd, line, low)
        if reply is not None:
            self.send(command_reply(reply) if isinstance(reply, str) else reply)

    async def dispatch(self, cmd: Command, line: str, low: str) -> str | bytes | None:
        from switchsim import esl_commands as c

        if low.startswith("filter "):
            return c.filter_command(self, line[7:])
        if low.startswith("api "):
            name, _, arg = line[4:].strip().partition(" ")
            out = await execute_api(self.server, self, name, arg)
            return api_response(out)
        if low.startswith("bgapi "):
            return self.bgapi(cmd, line[6:].strip())
        if self.session is not None and low.startswith("resume"):
            self.resume = True
            self.session.vars["socket_resume"] = "true"
            return "+OK"
        if self.session is not None and low.startswith("connect"):
            return c.connect_reply(self)
        if self.session is not None and low.startswith("getvar"):
            _, _, name = line.partition(" ")
            return self.session.vars.get(name.strip(), "")
        if low.startswith("myevents"):
            return c.myevents(self, line)
        if low.startswith("divert_events"):
            return "+OK events diverted" if self.session else "-ERR not controlling a session."
        if low.startswith("sendmsg"):
            return c.sendmsg(self, cmd, line[7:].strip())
        if low.startswith("sendevent"):
            return c.sendevent(self, cmd, line[9:].strip())
        if low.startswith("nolinger"):
            if self.session is None:
                return "-ERR not controlling a session"
            self.linger = False
            return "+OK will not linger"
        if low.startswith("linger"):
            return c.linger(self, line)
        if low.startswith("nolog"):
            if self.logging:
                self.logging = False
                return "+OK no longer logging"
            return "-ERR not loging"
        if low.startswith("log"):
            level = line[3:].strip().split(" ")[0]
            num = LOG_LEVELS.get(level.lower(), 7) if level else 7
            if level and level.lower() not in LOG_LEVELS and not level.isdigit():
                return "-ERR invalid log level"
            self.logging = True
            return f"+OK log level {level} [{num}]"
        if low.startswith("nixevent"):
            return c.nixevent(self, line)
        if low.startswith("noevents"):
            return c.noevents(self)
        if low.startswith("event"):
            return c.event_command(self, line)
        return "-ERR command not found"

    def bgapi(self, cmd: Command, text: str) -> bytes:
        name, _, arg = text.partition(" ")
        job = cmd.header("job-uuid") or str(uuidlib.uuid4())
        owner = self.session.uuid if self.session is not None else ""

        async def run_job() -> None:
            out = await execute_api(self.server, self, name, arg)
            headers = [("Job-UUID", job)]
            if owner:
                headers.append(("Job-Owner-UUID", owner))
            headers.append(("Job-Command", name))
            if arg:
                headers.append(("Job-Command-Arg", arg))
            bus = self.server.switch.bus
            bus.fire(bus.make("BACKGROUND_JOB", W_BGJOB, headers, out or "-ERR no reply\n"))

        self.server.spawn(run_job())
        return command_reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])


def valid_event_name(name: str) -> bool:
    return name in EVENT_NAMES
