"""The one WebSocket consumer base of the live pages (live calls `/ws/live/`, the agent
desktop `/ws/agent/`, the wallboard `/ws/wallboard/`): one protocol, one place for
authentication, audience filtering and gap handling.

The protocol (the page's side is `icm/static/icm/live_stream.js`):

- the socket sends a `snapshot` frame first: the page's whole state, with `seq`, the bus
  sequence number of each switch it covers (`{switch: n}`);
- then every bus event the user may see (`icm.bus.events`), as published or trimmed by the
  page's filter (`frame_for`); events a snapshot already holds (seq ≤ its seq) are not sent;
- every frame of the stream (snapshots and events) carries `wseq`, this socket's own
  counter (1, 2, 3 …): a page that sees a hole sends `{"type": "resync"}` and gets a fresh
  snapshot; so does a page that wants one (its history changed);
- upstream, the consumer watches each switch's bus sequence: a gap, a `reset`, or a
  `resync` from the process's bus subscription (events were lost) sends a fresh snapshot.

Subclasses say who may connect (`admit`), what their snapshot is (`read_snapshot`) and how
an event reaches their user (`frame_for`, with `self.audience`, the user's scope, loaded
with every snapshot: a team leader's teams).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, ClassVar

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from icm.bus.events import SEQUENCED, EventType, FrameType
from icm.bus.subscriber import fanout

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401
FORBIDDEN = 4403
RELAY_FAILED = 4500
SUBSCRIBE_WAIT = 2.0  # s

NEXT, STALE, GAP, UNKNOWN = "next", "stale", "gap", "unknown"


class SeqTracker:
    """Where each switch's bus events fall against the snapshot a socket sent."""

    def __init__(self, seqs: dict[str, int] | None = None) -> None:
        self.last: dict[str, int] = dict(seqs or {})

    def place(self, event: dict[str, Any]) -> str:
        """next (apply it), stale (the snapshot holds it), gap (one was missed before it, or
        the switch's stream restarted: re-snapshot) or unknown (a switch not followed)."""
        switch, seq = event.get("switch"), event.get("seq")
        if not isinstance(switch, str) or not isinstance(seq, int):
            return NEXT  # not sequenced (a bulletin)
        if switch not in self.last:
            return UNKNOWN
        if event.get("type") == EventType.RESET:
            return GAP
        last = self.last[switch]
        if seq <= last:
            return STALE
        self.last[switch] = seq
        return NEXT if seq == last + 1 else GAP


class LiveEventConsumer(AsyncJsonWebsocketConsumer):
    """Snapshot, then numbered, filtered bus events; a gap anywhere → a fresh snapshot."""

    # accept the handshake, then close with a code the page understands (else: refuse it)
    accept_then_close: ClassVar[bool] = True
    # a switch that (re)starts (its `reset`) joins the stream: the page shows every switch
    follows_new_switches: ClassVar[bool] = False
    refusal: dict[str, Any] | None = None  # what `admit` tells a refused page, if anything

    # --- what a subclass says -----------------------------------------------------------
    async def admit(self, user: Any) -> int | None:
        """None when the (authenticated) `user` may open this stream, else the close code
        (and `self.refusal`, a frame sent before closing)."""
        return None

    async def load_audience(self) -> Any:
        """Who the user is for `frame_for` (its scope), re-read with every snapshot."""
        return None

    async def read_snapshot(self) -> dict[str, Any]:
        """The page's state, with `seq`: {switch: bus seq} of every switch it covers."""
        raise NotImplementedError

    async def frame_for(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The event as this user receives it (None: not at all)."""
        return event

    async def receive_other(self, content: dict[str, Any]) -> None:
        """A frame from the page that is neither ping nor resync."""
        await self.send_json({"type": FrameType.ERROR, "detail": "unknown frame"})

    async def closing(self) -> None:
        """The socket is going (before the relay stops)."""

    # --- the protocol ---------------------------------------------------------------------
    async def connect(self) -> None:
        user = self.scope.get("user")
        authenticated = user is not None and user.is_authenticated
        code = await self.admit(user) if authenticated else UNAUTHORIZED
        if code is not None:  # no event is ever sent before the checks pass
            if self.accept_then_close:
                await self.accept()
                if self.refusal is not None:
                    await self.send_json(self.refusal)
            await self.close(code=code)
            return
        self.user = user
        self.wseq = 0
        self.tracker = SeqTracker()
        self.snapshot_read = 0.0
        self.queue = fanout().register()  # before the snapshot: nothing falls between
        await self.accept()
        self.pump = asyncio.create_task(self._pump())

    async def disconnect(self, code: int) -> None:
        await self.closing()
        if hasattr(self, "pump"):
            fanout().unregister(self.queue)
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == FrameType.PING:
            await self.send_json({"type": FrameType.PONG})
        elif kind == FrameType.RESYNC and hasattr(self, "queue"):
            with contextlib.suppress(asyncio.QueueFull):  # a full queue re-snapshots anyway
                self.queue.put_nowait({"type": FrameType.RESYNC, "asked": True})
        elif isinstance(content, dict):
            await self.receive_other(content)
        else:
            await self.send_json({"type": FrameType.ERROR, "detail": "frames are JSON objects"})

    async def send_frame(self, frame: dict[str, Any]) -> None:
        """One frame of the stream, numbered."""
        self.wseq += 1
        await self.send_json({**frame, "wseq": self.wseq})

    async def _pump(self) -> None:
        try:
            await self._snapshot()
            await self._relay()
        except asyncio.CancelledError:
            raise
        except Exception:  # the page must not believe it is live when it is not
            log.exception("live stream of %s: relay failed; closing", self.user)
            with contextlib.suppress(Exception):
                await self.close(code=RELAY_FAILED)

    async def _snapshot(self) -> None:
        # a fresh web process subscribes to the bus now: read the snapshot once it is up,
        # not before (that would need a second snapshot straight away)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fanout().subscribed.wait(), SUBSCRIBE_WAIT)
        self.snapshot_read = time.monotonic()
        self.audience = await self.load_audience()
        snap = await self.read_snapshot()
        self.tracker = SeqTracker(snap["seq"])
        await self.send_frame({**snap, "type": FrameType.SNAPSHOT})

    async def _relay(self) -> None:
        while True:
            event = await self.queue.get()
            kind = event.get("type")
            if kind == FrameType.RESYNC:
                if not event.get("asked") and event.get("subscribed", 1e18) < self.snapshot_read:
                    continue  # the subscription was up before the snapshot: nothing was lost
                place = GAP
            elif kind in SEQUENCED or isinstance(event.get("seq"), int):
                place = self.tracker.place(event)
            else:
                place = NEXT
            if place == UNKNOWN:
                if not (self.follows_new_switches and kind == EventType.RESET):
                    continue  # a switch this page does not show
                place = GAP
            if place == STALE:
                continue
            if place == GAP:
                if kind not in (FrameType.RESYNC, EventType.RESET):
                    log.warning(
                        "live stream of %s: bus event missed (seq %s of %s); "
                        "sending a fresh snapshot",
                        self.user,
                        event.get("seq"),
                        event.get("switch"),
                    )
                self._drain()
                await self._snapshot()
                continue
            frame = await self.frame_for(event)
            if frame is not None:
                await self.send_frame(frame)

    def _drain(self) -> None:
        """What is queued is older than the snapshot about to be read: it holds it."""
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                self.queue.get_nowait()
