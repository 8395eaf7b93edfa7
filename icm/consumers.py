"""WebSocket consumer of the live calls stream: authenticated, sequenced events from the bus,
filtered to the user's scope (a team leader: its teams' calls; see icm.live_scope)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from icm import actions
from icm.bus.subscriber import fanout
from icm.live_scope import LiveStream
from supervision.scope import calls_scope

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401
FORBIDDEN = 4403


class LiveCallsConsumer(AsyncJsonWebsocketConsumer):
    """Sends every state event (`{switch, seq, type, call|status}`) to the page.

    The page loads the snapshot over HTTP, then applies events whose seq is greater; a gap
    or a `resync` / `reset` event makes it load the snapshot again. A team leader's events
    pass through its `LiveStream` (other teams' calls become numbered `skip`s).
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHORIZED)
            return
        if not await self._may_view(user):
            await self.close(code=FORBIDDEN)
            return
        self.user = user
        self.queue = fanout().register()  # before the seed: no event falls between
        self.stream = LiveStream()
        await self._seed()
        await self.accept()
        self.pump = asyncio.create_task(self._pump())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "queue"):
            fanout().unregister(self.queue)
        if hasattr(self, "pump"):
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def _pump(self) -> None:
        while True:
            event = await self.queue.get()
            if event.get("type") in ("reset", "resync"):  # the page re-reads its snapshot
                await self._seed()
            frame = self.stream.frame(event)
            if frame is not None:
                await self.send_json(frame)

    async def _seed(self) -> None:
        """The user's scope now, and the calls of the snapshot its page may read."""
        scope = await database_sync_to_async(calls_scope)(self.user)
        if scope.everything:
            self.stream.seed(scope, [])
            return
        try:
            snapshots = await sync_to_async(actions.live_snapshots, thread_sensitive=False)()
        except actions.BusUnavailable as exc:  # the page's own snapshot read fails too
            log.warning("live calls of %s: no snapshot to seed the stream: %s", self.user, exc)
            snapshots = []
        self.stream.seed(scope, snapshots)

    @staticmethod
    async def _may_view(user) -> bool:
        return await database_sync_to_async(user.has_perm)("icm.view_call")
