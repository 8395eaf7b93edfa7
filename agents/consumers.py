"""The agent desktop's WebSocket (`/ws/agent/`): the live-event protocol of
`icm.live_socket` for one agent — its snapshot (`agents.desktop.snapshot`), then its own
events (its state, its offers, its calls, its bulletins, its switch's status and queue
figures), every frame numbered — and its commands back to icm (AG-1…AG-7).

One socket per agent: a second one is refused unless it asks to take over (`?takeover=1`),
which closes the first. Signing out (or a deactivation) closes the socket.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.db import DatabaseError
from redis import RedisError

from agents import desktop, placement
from agents.actions import DesktopRefused, check_desktop_command
from agents.desktop_sessions import group_of, still_signed_in
from icm.bus.commands import CommandError
from icm.bus.events import EventType
from icm.live_socket import RELAY_FAILED, UNAUTHORIZED, LiveEventConsumer
from ipbx_project.outages import outage_of

log = logging.getLogger(__name__)
NOT_AN_AGENT = 4403
ALREADY_OPEN = 4409
TAKEN_OVER = 4410

__all__ = [
    "ALREADY_OPEN",
    "NOT_AN_AGENT",
    "RELAY_FAILED",
    "TAKEN_OVER",
    "UNAUTHORIZED",
    "AgentDesktopConsumer",
]

_open: dict[str, AgentDesktopConsumer] = {}  # agent -> its socket in this process


class AgentDesktopConsumer(LiveEventConsumer):
    async def admit(self, user: Any) -> int | None:
        agent = await database_sync_to_async(placement.agent_of)(user)
        if agent is None:
            return NOT_AN_AGENT
        self.agent = agent
        self.login_id = agent.login_id
        self.extension = agent.extension.number if agent.extension_id else ""
        self.switch = await database_sync_to_async(placement.switch_of)(agent)
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.tab = (query.get("tab") or [""])[0][:64]
        other = _open.get(self.login_id)
        # the same browser tab coming back (its old socket half open after a blip) takes
        # over by itself; another page must ask
        takeover = query.get("takeover") or (
            other is not None and self.tab and other.tab == self.tab
        )
        if other is not None and not takeover:
            self.refusal = {
                "type": "refused",
                "detail": "this agent is already signed in on another page; take over to move here",
            }
            return ALREADY_OPEN
        if other is not None:
            await other.taken_over()
        _open[self.login_id] = self
        self.token = uuid.uuid4().hex
        await self._watch_sign_in()
        log.info("agent %s: desktop connected", self.login_id)
        return None

    async def read_snapshot(self) -> dict[str, Any]:
        return await database_sync_to_async(desktop.snapshot_frame, thread_sensitive=False)(
            self.agent
        )

    async def frame_for(self, event: dict[str, Any]) -> dict[str, Any] | None:
        if not desktop.is_mine(event, self.login_id, self.extension):
            return None
        if event.get("type") == EventType.AGENT_STATE and (event.get("agent") or {}).get("offer"):
            return await database_sync_to_async(desktop.as_desktop_frame)(event)  # a query
        return desktop.as_desktop_frame(event)

    async def taken_over(self) -> None:
        with contextlib.suppress(Exception):
            await self.send_json({"type": "taken_over"})
        await self.close(code=TAKEN_OVER)

    async def _watch_sign_in(self) -> None:
        """Join the agent's group: signing out or a deactivation closes this socket."""
        if self.channel_layer is None:
            return
        try:
            await self.channel_layer.group_add(group_of(self.login_id), self.channel_name)
        except Exception as exc:
            log.warning("agent %s: desktop not watching its sign-in: %s", self.login_id, exc)

    async def desktop_close(self, event: dict[str, Any]) -> None:
        """The agent signed out (of this socket's session) or was deactivated."""
        if event.get("session") and event["session"] != self._session_key():
            return  # another browser's session signed out
        await self._signed_out(str(event.get("why") or "signed out"))

    async def _signed_out(self, why: str) -> None:
        log.info(
            "agent %s: desktop closed: %s", self.login_id, why, extra={"agent_id": self.login_id}
        )
        with contextlib.suppress(Exception):
            await self.send_json({"type": "signed_out", "detail": why})
        await self.close(code=UNAUTHORIZED)

    def _session_key(self) -> str:
        return str(getattr(self.scope.get("session"), "session_key", None) or "")

    async def closing(self) -> None:
        if getattr(self, "login_id", None) and _open.get(self.login_id) is self:
            del _open[self.login_id]
        if getattr(self, "login_id", None) and self.channel_layer is not None:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(group_of(self.login_id), self.channel_name)

    async def receive_other(self, content: dict[str, Any]) -> None:
        """A command: `{"id", "command", "args"}`, answered by a `reply`."""
        request_id = str(content.get("id", ""))[:64]
        command = str(content.get("command", ""))
        try:
            check = database_sync_to_async(still_signed_in, thread_sensitive=False)
            if not await check(self.scope["user"].pk, self.agent.pk, self._session_key()):
                await self._signed_out("signed out")  # the session ended without a sign-out
                return
            # not thread-sensitive: one desktop waiting on icm must not hold up the others
            run = database_sync_to_async(check_desktop_command, thread_sensitive=False)
            result = await run(self.agent, self.switch, command, content.get("args") or {})
        except (DesktopRefused, CommandError) as exc:
            await self._reply_error(request_id, str(exc))
            return
        except (RedisError, DatabaseError) as exc:  # an outage: say so, keep the socket
            what = outage_of(exc)
            if what is None:
                raise  # a bug, not an outage
            log.warning(
                "agent %s: desktop command %s failed: %s",
                self.login_id,
                command,
                exc,
                extra={"agent_id": self.login_id},
            )
            await self._reply_error(request_id, f"{what} is unavailable: try again in a moment")
            return
        await self.send_json({"type": "reply", "id": request_id, "ok": True, "result": result})

    async def _reply_error(self, request_id: str, detail: str) -> None:
        await self.send_json({"type": "reply", "id": request_id, "ok": False, "detail": detail})
