"""What the daemon publishes to the bus, batched off the dispatch path.

The consumer greenlet never waits on a Redis round trip: changed calls and other
publications queue here and the publisher greenlet sends them every `interval` seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent

from icm.bus.publisher import StatePublisher
from icm.domain.calls import CallRecord

YIELD_EVERY = 10  # publications between two chances for dispatch to run


class PublishQueue:
    def __init__(self, publisher: StatePublisher, interval: float) -> None:
        self.publisher = publisher
        self.interval = interval
        self._calls: dict[tuple[str, str], CallRecord] = {}
        self._others: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def call_changed(self, rec: CallRecord) -> None:
        self._calls[(rec.switch, rec.call_uuid)] = rec

    def later(self, publish: Callable[..., None], *args: Any) -> None:
        """Queue a bus publication for the publisher greenlet."""
        self._others.append((publish, args))

    def run(self) -> None:
        while True:
            gevent.sleep(self.interval)
            self.send()

    def send(self) -> None:
        if self._calls:
            batch, self._calls = self._calls, {}
            self.publisher.publish_calls(batch.values())
        if self._others:
            pending, self._others = self._others, []
            for n, (publish, args) in enumerate(pending, 1):
                publish(*args)
                if n % YIELD_EVERY == 0:
                    gevent.sleep(0)  # a burst of publications never holds dispatch up
