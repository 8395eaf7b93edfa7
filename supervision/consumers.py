"""The wallboard's WebSocket (`/ws/wallboard/`): a snapshot, then the events of the
supervisor's scope, every frame numbered.

Frames carry `wseq`, this socket's own counter (1, 2, 3 …): the page checks it has every
frame in order and asks for a fresh snapshot (`{"type": "resync"}`) when one is missing.
Upstream, the consumer watches each switch's bus sequence (every event of a switch passes
through here, even those the scope filters out): a gap, a reset or an overflow of this
socket's queue sends a fresh snapshot instead of a silent hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from icm.bus.subscriber import fanout
from supervision import wallboard
from supervision.roles import ADMINISTRATOR, TEAM_LEADER
from supervision.scope import Scope, scope_of

log = logging.getLogger(__name__)
UNAUTHORIZED = 4401
FORBIDDEN = 4403
RELAY_FAILED = 4500
SUBSCRIBE_WAIT = 2.0  # s


class WallboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept()  # then closed with a code the page understands
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHORIZED)
            return
        self.user = user
        self.supervisor: Scope = await database_sync_to_async(scope_of)(user)
        if self.supervisor.role not in (ADMINISTRATOR, TEAM_LEADER):
            await self.close(code=FORBIDDEN)
            return
        self.wseq = 0
        self.last_seq: dict[str, int] = {}
        self.resync_wanted = asyncio.Event()
        self.queue = fanout().register()  # before the snapshot: nothing falls between
        self.pump = asyncio.create_task(self._pump())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "pump"):
            fanout().unregister(self.queue)
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "resync":
            self.resync_wanted.set()
            self.queue.put_nowait({"type": "resync"})  # wakes the relay
        else:
            await self.send_json(
                {
                    "type": "error",
                    "detail": "wallboard frames are ping or "
                    "resync; controls go through the REST API",
                }
            )

    async def _pump(self) -> None:
        try:
            await self._snapshot()
            await self._relay()
        except asyncio.CancelledError:
            raise
        except Exception:  # the page must not believe it is live when it is not
            log.exception("wallboard of %s: relay failed; closing", self.user)
            with contextlib.suppress(Exception):
                await self.close(code=RELAY_FAILED)

    async def _snapshot(self) -> None:
        # a fresh web process subscribes to the bus now: read the snapshot once it is up,
        # not before (that would need a second snapshot straight away)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fanout().subscribed.wait(), SUBSCRIBE_WAIT)
        self.snapshot_read = time.monotonic()
        self.supervisor = await database_sync_to_async(scope_of)(self.user)
        snap = await database_sync_to_async(wallboard.snapshot, thread_sensitive=False)(self.user)
        self.last_seq = dict(snap["seq"])
        await self._send(snap)

    async def _relay(self) -> None:
        while True:
            event = await self.queue.get()
            place = "resync" if event.get("type") == "resync" else self._place(event)
            if place == "resync" and event.get("subscribed", 1e18) < self.snapshot_read:
                continue  # the subscription was up before the snapshot: nothing was lost
            if place == "stale":  # the snapshot holds it already
                continue
            if place in ("resync", "gap"):
                if place == "gap":
                    log.warning(
                        "wallboard of %s: bus event missed (seq %s after %s); "
                        "sending a fresh snapshot",
                        self.user,
                        event.get("seq"),
                        self.last_seq.get(str(event.get("switch"))),
                    )
                self._drain()
                await self._snapshot()
                continue
            if event.get("switch") not in self.last_seq:
                continue  # a switch this wallboard does not show (bulletins, other icms)
            frame = wallboard.for_wallboard(event, self.supervisor)
            if frame is not None:
                await self._send(frame)

    def _place(self, event: dict[str, Any]) -> str:
        """Where the event falls against what this socket has: next, stale (already in the
        snapshot), gap (one missed before it) or a reset of the switch's stream."""
        switch, seq = event.get("switch"), event.get("seq")
        if not isinstance(seq, int) or not isinstance(switch, str):
            return "next"
        if switch not in self.last_seq:
            return "stale"  # a switch this wallboard does not show
        if event.get("type") == "reset":
            return "gap"
        last = self.last_seq.get(switch)
        if last is not None and seq <= last:
            return "stale"
        self.last_seq[switch] = seq
        return "gap" if last is not None and seq != last + 1 else "next"

    def _drain(self) -> None:
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                self.queue.get_nowait()

    async def _send(self, frame: dict[str, Any]) -> None:
        self.wseq += 1
        await self.send_json({**frame, "wseq": self.wseq})
