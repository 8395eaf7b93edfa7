"""WebSocket consumer of the live calls stream (`/ws/live/`): the live-event protocol of
`icm.live_socket` with the calls of every switch, filtered to the user's scope (a team
leader: its teams' calls; see icm.live_scope)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from icm import actions
from icm.live_scope import LiveStream, scoped_snapshots
from icm.live_socket import FORBIDDEN, UNAUTHORIZED, LiveEventConsumer
from supervision.scope import Scope, calls_scope

__all__ = ["FORBIDDEN", "UNAUTHORIZED", "LiveCallsConsumer"]


class LiveCallsConsumer(LiveEventConsumer):
    """A snapshot (`{"type": "snapshot", "seq": {switch: n}, "switches": [...]}`, as
    `/api/live/` gives it), then every call event of the user's scope: a team leader's
    events pass through its `LiveStream` (other teams' calls become numbered `skip`s, a call
    that leaves its scope a `call.hidden`)."""

    accept_then_close = False  # refused at the handshake
    follows_new_switches = True

    async def admit(self, user: Any) -> int | None:
        may_view = await database_sync_to_async(user.has_perm)("icm.view_call")
        return None if may_view else FORBIDDEN

    async def load_audience(self) -> Scope:
        return await database_sync_to_async(calls_scope)(self.user)

    async def read_snapshot(self) -> dict[str, Any]:
        snapshots = await sync_to_async(actions.live_snapshots, thread_sensitive=False)()
        if not hasattr(self, "stream"):
            self.stream = LiveStream()
        # an administrator's stream is not filtered: nothing to remember
        self.stream.seed(self.audience, [] if self.audience.everything else snapshots)
        return {
            "seq": {snap["switch"]: snap["seq"] for snap in snapshots},
            "switches": scoped_snapshots(snapshots, self.audience),
        }

    async def frame_for(self, event: dict[str, Any]) -> dict[str, Any] | None:
        return self.stream.frame(event)
