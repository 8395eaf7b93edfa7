"""WebSocket consumer of the live calls stream: authenticated, sequenced events from the bus."""

from __future__ import annotations

import asyncio
import contextlib

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from icm.bus.subscriber import fanout

UNAUTHORIZED = 4401
FORBIDDEN = 4403


class LiveCallsConsumer(AsyncJsonWebsocketConsumer):
    """Sends every state event (`{switch, seq, type, call|status}`) to the page.

    The page loads the snapshot over HTTP, then applies events whose seq is greater; a gap
    or a `resync` / `reset` event makes it load the snapshot again.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHORIZED)
            return
        if not await self._may_view(user):
            await self.close(code=FORBIDDEN)
            return
        await self.accept()
        self.queue = fanout().register()
        self.pump = asyncio.create_task(self._pump())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "pump"):
            fanout().unregister(self.queue)
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump

    async def receive_json(self, content, **kwargs) -> None:  # noqa: ANN001, ANN003
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def _pump(self) -> None:
        while True:
            event = await self.queue.get()
            await self.send_json(event)

    @staticmethod
    async def _may_view(user) -> bool:  # noqa: ANN001
        from channels.db import database_sync_to_async

        return await database_sync_to_async(user.has_perm)("icm.view_call")
