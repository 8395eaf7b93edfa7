"""The web process's side of the bus: one Redis subscription per process, fanned out to
every WebSocket consumer of that process through asyncio queues.

One subscription per process (not per socket) keeps Redis connections flat however many
pages are open; a slow page only fills its own bounded queue, and overflowing it closes
that page's stream with a "resync" so it re-snapshots instead of silently missing events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis.asyncio as aioredis
from django.conf import settings

from . import keys
from .events import FrameType, parse_event

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class EventFanout:
    """Subscribes once to the bus and delivers every valid event (`events.parse_event`)
    to registered queues."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._queues: set[asyncio.Queue] = set()
        self._task: asyncio.Task | None = None
        # set while the subscription is up: a page that reads its snapshot after it misses
        # nothing (the wallboard waits for it rather than re-snapshot at once)
        self.subscribed = asyncio.Event()

    def register(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return queue

    def unregister(self, queue: asyncio.Queue) -> None:
        self._queues.discard(queue)

    async def _run(self) -> None:
        while self._queues:
            client = aioredis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(keys.events_channel(client))
                    # Anything published while we were away is lost: ask pages to re-snapshot
                    # (`subscribed`: a page whose snapshot was read after it lost nothing).
                    since = time.monotonic()
                    self.subscribed.set()
                    self._deliver({"type": FrameType.RESYNC, "subscribed": since})
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        event = parse_event(message["data"])  # malformed: logged, dropped
                        if event is not None:
                            self._deliver(event)
                        if not self._queues:
                            break
            except (aioredis.RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("bus: subscription lost (%s); retrying", exc)
                await asyncio.sleep(1)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _deliver(self, event: dict) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("bus: a page is too slow; asking it to re-snapshot")
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        queue.get_nowait()
                queue.put_nowait({"type": FrameType.RESYNC})


_fanouts: dict[int, EventFanout] = {}


def fanout() -> EventFanout:
    """The fan-out of the running event loop (one per process and loop)."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _fanouts:
        _fanouts[loop_id] = EventFanout(settings.REDIS_URL)
    return _fanouts[loop_id]
