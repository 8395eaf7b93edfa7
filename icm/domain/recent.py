"""`Recent`: a map that forgets its entries by age (and beyond a count), for what the daemon
remembers about things that ended (hung-up legs, ended calls, finished recordings) so that a
late or repeated event about them is recognised.

A count alone bounded these memories but let them grow for as long as the cap took to fill
(hours at a demo's call rate: issue 21 finding 5); an age keeps them at the call rate times
the window, reached within that window. Entries are kept in the order they were put (a put
again moves to the end), so forgetting pops from the front. Pure: the clock is injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
_MISSING = object()


class Recent(Generic[K, V]):
    """Entries put in the last `max_age` seconds, `limit` at most (the oldest go first)."""

    def __init__(
        self, max_age: float, limit: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self.limit = limit
        self.clock = clock
        self._items: dict[K, tuple[float, V]] = {}

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        """Remember `key` (again: it moves to the end); returns what was forgotten meanwhile."""
        now = self.clock()
        self._items.pop(key, None)
        self._items[key] = (now, value)
        return self.forget(now)

    def forget(self, now: float | None = None) -> list[tuple[K, V]]:
        """Drop what is older than `max_age` or beyond `limit`; returns what was dropped."""
        now = self.clock() if now is None else now
        oldest = now - self.max_age
        items, dropped = self._items, []
        while items:
            key, (at, value) = next(iter(items.items()))
            if at >= oldest and len(items) <= self.limit:
                break
            del items[key]
            dropped.append((key, value))
        return dropped

    def get(self, key: K, default: V | None = None) -> V | None:
        entry = self._items.get(key)
        return default if entry is None else entry[1]

    def pop(self, key: K, default: object = _MISSING) -> V:
        entry = self._items.pop(key, None)
        if entry is not None:
            return entry[1]
        if default is _MISSING:
            raise KeyError(key)
        return default  # type: ignore[return-value]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)
