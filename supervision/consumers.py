"""The wallboard's WebSocket (`/ws/wallboard/`): the live-event protocol of
`icm.live_socket` — a snapshot (`supervision.wallboard.snapshot`), then the events of the
supervisor's scope trimmed to what the wallboard shows (`wallboard.for_wallboard`), every
frame numbered (`wseq`); a missing frame or a gap upstream brings a fresh snapshot.
Controls go through the REST API."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from icm.bus.events import FrameType
from icm.live_socket import FORBIDDEN, RELAY_FAILED, UNAUTHORIZED, LiveEventConsumer
from supervision import wallboard
from supervision.roles import ADMINISTRATOR, TEAM_LEADER
from supervision.scope import Scope, scope_of

__all__ = ["FORBIDDEN", "RELAY_FAILED", "UNAUTHORIZED", "WallboardConsumer"]


class WallboardConsumer(LiveEventConsumer):
    async def admit(self, user: Any) -> int | None:
        scope = await database_sync_to_async(scope_of)(user)
        return None if scope.role in (ADMINISTRATOR, TEAM_LEADER) else FORBIDDEN

    async def load_audience(self) -> Scope:
        return await database_sync_to_async(scope_of)(self.user)

    async def read_snapshot(self) -> dict[str, Any]:
        return await database_sync_to_async(wallboard.snapshot, thread_sensitive=False)(self.user)

    async def frame_for(self, event: dict[str, Any]) -> dict[str, Any] | None:
        return wallboard.for_wallboard(event, self.audience)

    async def receive_other(self, content: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": FrameType.ERROR,
                "detail": "wallboard frames are ping or resync; controls go through the REST API",
            }
        )
