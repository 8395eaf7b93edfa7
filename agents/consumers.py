"""The agent desktop's WebSocket (`/ws/agent/`): the agent's own events, in order, and its
commands back to icm (AG-1…AG-7).

One socket per agent: a second one is refused unless it asks to take over (`?takeover=1`),
which closes the first. Events come from the process's one bus subscription; this consumer
keeps only the agent's (its state, its offers, its calls) and watches the switch's sequence
numbers: a gap, a reset or an overflow makes it tell the page to re-snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from agents import desktop, placement
from agents.actions import DesktopRefused, check_desktop_command
from agents.desktop_sessions import group_of, still_signed_in
from icm.bus.commands import CommandError
from icm.bus.subscriber import fanout

log = logging.getLogger(__name__)
UNAUTHORIZED = 4401
NOT_AN_AGENT = 4403
ALREADY_OPEN = 4409
TAKEN_OVER = 4410
RELAY_FAILED = 4500

_open: dict[str, AgentDesktopConsumer] = {}  # agent -> its socket in this process


class AgentDesktopConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        # Accepted, then closed with a code the page understands (signed out / not an agent);
        # no event is ever sent before the checks pass.
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=UNAUTHORIZED)
            return
        agent = await database_sync_to_async(placement.agent_of)(user)
        if agent is None:
            await self.accept()
            await self.close(code=NOT_AN_AGENT)
            return
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
            await self.accept()
            await self.send_json(
                {
                    "type": "refused",
                    "detail": "this agent is already signed "
                    "in on another page; take over to move here",
                }
            )
            await self.close(code=ALREADY_OPEN)
            return
        if other is not None:
            await other.taken_over()
        _open[self.login_id] = self
        self.token = uuid.uuid4().hex
        self.last_seq: int | None = None
        await self._watch_sign_in()
        await self.accept()
        self.queue = fanout().register()
        self.pump = asyncio.create_task(self._pump())
        log.info("agent %s: desktop connected", self.login_id)

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

    async def disconnect(self, code: int) -> None:
        if getattr(self, "login_id", None) and _open.get(self.login_id) is self:
            del _open[self.login_id]
        if getattr(self, "login_id", None) and self.channel_layer is not None:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(group_of(self.login_id), self.channel_name)
        if hasattr(self, "pump"):
            fanout().unregister(self.queue)
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "detail": "commands are JSON objects"})
            return
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})
            return
        request_id = str(content.get("id", ""))[:64]
        check = database_sync_to_async(still_signed_in, thread_sensitive=False)
        if not await check(self.scope["user"].pk, self.agent.pk, self._session_key()):
            await self._signed_out("signed out")  # the session ended without a sign-out
            return
        try:
            # not thread-sensitive: one desktop waiting on icm must not hold up the others
            run = database_sync_to_async(check_desktop_command, thread_sensitive=False)
            result = await run(
                self.agent, self.switch, str(content.get("command", "")), content.get("args") or {}
            )
        except (DesktopRefused, CommandError) as exc:
            await self.send_json(
                {"type": "reply", "id": request_id, "ok": False, "detail": str(exc)}
            )
            return
        await self.send_json({"type": "reply", "id": request_id, "ok": True, "result": result})

    async def _pump(self) -> None:
        try:
            await self._relay()
        except asyncio.CancelledError:
            raise
        except Exception:  # the page must not believe it is live when it is not
            log.exception("agent %s: desktop event relay failed; closing", self.login_id)
            with contextlib.suppress(Exception):
                await self.close(code=RELAY_FAILED)

    async def _relay(self) -> None:
        while True:
            event = await self.queue.get()
            if event.get("switch") not in (None, self.switch):
                continue
            if event.get("type") == "resync" or self._gap(event):
                if event.get("type") == "resync":
                    self.last_seq = None  # the next event starts a fresh count
                await self.send_json({"type": "resync"})
                continue
            if not desktop.is_mine(event, self.login_id, self.extension):
                continue
            if event.get("type") == "agent.state" and (event.get("agent") or {}).get("offer"):
                state = dict(event["agent"])
                state["offer"] = await database_sync_to_async(desktop.offer_card)(state["offer"])
                event = {**event, "agent": state}
            await self.send_json(event)

    def _gap(self, event: dict[str, Any]) -> bool:
        """A missed event upstream (the bus's per-switch seq skipped) or a reset."""
        seq = event.get("seq")
        if not isinstance(seq, int):
            return False
        last, self.last_seq = self.last_seq, seq
        if event.get("type") == "reset":
            return True
        return last is not None and seq != last + 1
