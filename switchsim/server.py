"""The switchsim process: inbound ESL server, heartbeats, scenario traffic, shutdown.

Owns wiring (config → dialplan → switch → world → scenario), accepting inbound ESL
connections on ``--esl-host/--esl-port``, the HEARTBEAT timer and clean shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from switchsim import FS_VERSION
from switchsim.config import Config
from switchsim.dialplan import Dialplan
from switchsim.esl_conn import EslConnection
from switchsim.esl_outbound import socket_app
from switchsim.mwi import Lamps
from switchsim.scenario import Scenario
from switchsim.switch import Switch
from switchsim.world import World

log = logging.getLogger(__name__)
W_HEARTBEAT = ("switch_core.c", "send_heartbeat", 80)


class Server:
    """Everything one switchsim process runs."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.switch = Switch(config, Dialplan.load(config.dialplan_path))
        self.switch.globals["ipbx_outbound"] = config.outbound_socket
        self.switch.globals["domain"] = config.ipv4
        self.world = World(self.switch)
        self.lamps = Lamps()  # phones' message-waiting lamps (switchsim.mwi)
        self.switch.world = self.world
        self.switch.outbound_factory = lambda sw, ch, arg: socket_app(self, sw, ch, arg)
        self.scenario = Scenario.load(config.scenario_path, config.demo)
        self.connections: set[EslConnection] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.server: asyncio.base_events.Server | None = None
        self.port = config.esl_port
        self.connection_count = 0
        # test knobs (sim_hold_esl, sim_hold_sockets): until this loop time, a new inbound ESL
        # connection gets no auth/request, a socket app does not connect out
        self.hold_esl_until = 0.0
        self.hold_sockets_until = 0.0

    def next_connection_index(self) -> int:
        """1, 2, … for each inbound ESL connection (seeds its event reordering)."""
        self.connection_count += 1
        return self.connection_count

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._client, self.config.esl_host, self.config.esl_port, limit=64 * 1024
        )
        sock = self.server.sockets[0]
        self.port = sock.getsockname()[1]
        self.scenario.apply(self.world)
        self.spawn(self._heartbeats())
        self.spawn(self.scenario.run_traffic(self.world))
        log.info("switchsim listening on %s:%s", self.config.esl_host, self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = EslConnection(self, reader, writer)
        self.connections.add(conn)
        self.switch.bus.subscribe(conn)
        log.debug("ESL connection from %s", conn.peer)
        try:
            await held(self, "hold_esl_until")
            conn.send(b"Content-Type: auth/request\n\n")
            await conn.run()
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("ESL connection %s failed", conn.peer)
        finally:
            self.connections.discard(conn)
            self.switch.bus.unsubscribe(conn)
            log.debug("ESL connection %s closed", conn.peer)

    async def _heartbeats(self) -> None:
        interval = self.config.heartbeat_interval
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            self.heartbeat()

    def heartbeat(self) -> None:
        sw = self.switch
        up = sum(1 for c in sw.channels.values() if c.is_up)
        import time

        headers = [
            ("Event-Info", "System Ready"),
            ("Up-Time", sw.uptime_text()),
            ("FreeSWITCH-Version", FS_VERSION.split(" ")[0]),
            ("Uptime-msec", str(int((time.monotonic() - sw.started) * 1000))),
            ("Session-Count", str(up)),
            ("Max-Sessions", str(self.config.max_sessions)),
            ("Session-Per-Sec", "0"),
            ("Session-Per-Sec-Last", "0"),
            ("Session-Per-Sec-Max", "0"),
            ("Session-Per-Sec-FiveMin", "0"),
            ("Session-Since-Startup", str(sw.session_counter)),
            ("Session-Peak-Max", str(sw.peak)),
            ("Session-Peak-FiveMin", str(sw.peak)),
            ("Idle-CPU", "97.700000"),
        ]
        sw.bus.emit("HEARTBEAT", W_HEARTBEAT, headers)

    async def stop(self) -> None:
        log.info("switchsim shutting down")
        if self.server is not None:
            self.server.close()
        for ch in list(self.switch.channels.values()):
            self.switch.hangup(ch, "SYSTEM_SHUTDOWN")
        await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.close_with_notice()
        for task in list(self.tasks):
            task.cancel()
        for ch in list(self.switch.channels.values()):
            if ch.task is not None:
                ch.task.cancel()


async def held(server: Server, knob: str, up: Any = None) -> None:
    """Wait while a sim_hold_* knob holds (`up`: a channel whose hang-up ends the wait)."""
    loop = asyncio.get_running_loop()
    while loop.time() < getattr(server, knob) and (up is None or up.is_up):
        await asyncio.sleep(0.05)
