"""icm's inbox: every input of the consumer greenlet (switch frames, IVR sessions' messages, bus
requests, timers), in arrival order, bounded by back-pressure (issue 21 finding 6).

Nothing put is ever dropped: the bound is kept by making producers wait. While `limit` items
are waiting, a producer greenlet's `put` waits until the consumer has taken the inbox back
below 90 % of the limit. The switch's reader greenlet is such a producer: while it waits it
reads nothing more, so the switch's events stay in the socket and TCP holds the switch back
(FreeSWITCH queues them per connection) instead of icm's memory growing without end.

Two producers never wait, or a full inbox would deadlock:
- the consumer itself (a handler posting a follow-up item): only it can make room;
- anyone while the consumer is stuck — it has taken nothing for `stall` seconds, e.g. waiting
  for an api reply that the very reader greenlet waiting here would read. Then the item goes
  in beyond the limit (counted in `overfilled`, logged once per episode) and the command's
  own time-out still applies.
"""

from __future__ import annotations

import logging
import time

import gevent
import gevent.event
import gevent.queue

log = logging.getLogger(__name__)
LIMIT = 20_000  # items (a flood's few seconds; a resync snapshot is one item)
STALL = 1.0  # seconds without a take: the consumer is stuck, producers stop waiting
POLL = 0.05  # seconds between looks at a stuck consumer while waiting


class Inbox:
    """A FIFO of inbox items whose producers wait while it is full (see the module text)."""

    def __init__(self, name: str = "", limit: int = LIMIT, stall: float = STALL) -> None:
        self.name = name
        self.limit = limit
        self.stall = stall
        self.waited = 0  # puts that waited for room
        self.overfilled = 0  # puts let in beyond the limit past a stuck consumer
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._room = gevent.event.Event()
        self._room.set()
        self._consumer: object = None
        self._taken_at = time.monotonic()
        self._full_logged = False
        self._stuck_logged = False

    def put(self, item: object) -> None:
        if self._queue.qsize() >= self.limit:
            self._wait_for_room()
        self._queue.put(item)

    def get(self) -> object:
        """The next item (waits for one); the calling greenlet is the consumer."""
        self._consumer = gevent.getcurrent()
        item = self._queue.get()
        self._taken_at = time.monotonic()
        if not self._room.is_set() and self._queue.qsize() < self.limit * 0.9:
            self._room.set()
            log.info("icm %s: inbox has room again (%d items)", self.name, self._queue.qsize())
            self._full_logged = self._stuck_logged = False
        return item

    def empty(self) -> bool:
        return self._queue.empty()

    def qsize(self) -> int:
        return self._queue.qsize()

    def __len__(self) -> int:
        return self._queue.qsize()

    def _wait_for_room(self) -> None:
        current = gevent.getcurrent()
        if current is self._consumer or current is gevent.get_hub():
            return  # only the consumer makes room: it never waits for itself
        self.waited += 1
        self._room.clear()
        if not self._full_logged:
            self._full_logged = True
            log.warning(
                "icm %s: inbox full (%d items): producers wait, the switch's events stay "
                "in its socket until the consumer catches up",
                self.name,
                self._queue.qsize(),
            )
        while self._queue.qsize() >= self.limit * 0.9:
            if time.monotonic() - self._taken_at >= self.stall:
                self.overfilled += 1
                if not self._stuck_logged:
                    self._stuck_logged = True
                    log.warning(
                        "icm %s: the consumer took nothing for %.1f s with %d items waiting: "
                        "letting items in beyond the limit",
                        self.name,
                        time.monotonic() - self._taken_at,
                        self._queue.qsize(),
                    )
                return
            self._room.wait(POLL)
