"""The web process's side of the bus: one Redis subscription per process, fanned out to
every WebSocket consumer of that process through asyncio queues.

One subscription per process (not per socket) keeps Redis connections flat however many
pages are open; a slow page only fills its own bounded queue, and overflowing it closes
that page's stream with a "resync" so it re-snapshots instead of silently missing events.

A lost subscription (Redis restarted or unreachable) is tried again with a growing delay,
logged; once it is back, every page gets a "resync" (what was published meanwhile is lost
to pub/sub), so every socket sends a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref

import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from . import keys
from .events import FrameType, parse_event

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
# a lost subscription is tried again after 0.5 s, then 1, 2 … up to 10 s between tries
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0
# an idle subscription PINGs Redis this often: a dead connection is noticed, not waited on
HEALTH_CHECK_SECONDS = 5


def _client(url: str) -> aioredis.Redis:
    """The subscription's connection, without redis-py's own retries: every reconnection
    goes through `_run` (and its resync to the pages), none may happen unseen inside
    redis-py (its retry re-subscribes a reconnected pub/sub by itself)."""
    return aioredis.from_url(
        url, retry=Retry(NoBackoff(), 0), health_check_interval=HEALTH_CHECK_SECONDS
    )


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
        delay, lost_at = RETRY_FIRST_SECONDS, None
        while self._queues:
            client = _client(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(keys.events_channel(client))
                    # Anything published while we were away is lost: ask pages to re-snapshot
                    # (`subscribed`: a page whose snapshot was read after it lost nothing).
                    since = time.monotonic()
                    self.subscribed.set()
                    if lost_at is not None:
                        log.warning(
                            "bus: subscription restored after %.1fs; every page re-snapshots",
                            since - lost_at,
                        )
                    delay, lost_at = RETRY_FIRST_SECONDS, None
                    self._deliver({"type": FrameType.RESYNC, "subscribed": since})
                    await self._listen(pubsub)
            except (aioredis.RedisError, OSError) as exc:
                self.subscribed.clear()
                if lost_at is None:
                    lost_at = time.monotonic()
                    log.warning("bus: subscription lost (%s); reconnecting", exc)
                else:
                    log.info("bus: still no subscription (%s); next try in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _listen(self, pubsub: aioredis.client.PubSub) -> None:
        """Deliver the subscription's events until no page is left (or it fails)."""
        while self._queues:
            message = await pubsub.get_message(timeout=HEALTH_CHECK_SECONDS)
            if message is None or message.get("type") != "message":
                continue
            event = parse_event(message["data"])  # malformed: logged, dropped
            if event is not None:
                self._deliver(event)

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


# by the loop itself, not its id(): a later loop may get a finished one's id, and would be
# handed that loop's fan-out, its task dead with it
_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EventFanout] = (
    weakref.WeakKeyDictionary()
)


def fanout() -> EventFanout:
    """The fan-out of the running event loop (one per process and loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _fanouts:
        _fanouts[loop] = EventFanout(settings.REDIS_URL)
    return _fanouts[loop]
