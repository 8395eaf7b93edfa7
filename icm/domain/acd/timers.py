"""The ACD engine's timers: named deadlines (ring time-out, wrap-up end, escalation rechecks,
overflow) kept in a heap; setting a timer again or cancelling it makes the older entry stale
instead of searching the heap."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

Entry = tuple[float, int, str, str, int]  # (due, seq, kind, key, token)


class Timers:
    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._seq = 0
        self._tokens: dict[tuple[str, str], int] = {}

    def set(self, due: float, kind: str, key: str) -> None:
        """(Re)arm timer `kind`/`key` for `due` (an earlier arming of it no longer fires)."""
        self._seq += 1
        self._tokens[(kind, key)] = self._seq
        heapq.heappush(self._heap, (due, self._seq, kind, key, self._seq))

    def cancel(self, kind: str, key: str) -> None:
        """Disarm `kind`/`key`; for rechecks also every `key|n` step of the contact."""
        self._tokens.pop((kind, key), None)
        if kind == "recheck":
            prefix = key + "|"
            for stale in [k for k in self._tokens if k[0] == kind and k[1].startswith(prefix)]:
                del self._tokens[stale]

    def due(self, kind: str, key: str) -> float | None:
        """When the armed timer `kind`/`key` fires (None: not armed)."""
        token = self._tokens.get((kind, key))
        for due, _, k, name, tok in self._heap:
            if k == kind and name == key and tok == token:
                return due
        return None

    def next_deadline(self) -> float | None:
        while self._heap and not self._live(self._heap[0]):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Iterator[tuple[str, str]]:
        """(kind, key) of each armed timer due by `now`, earliest first; a timer armed while
        iterating that is already due comes too."""
        while self._heap and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)
            if not self._live(entry):
                continue
            _, _, kind, key, _ = entry
            del self._tokens[(kind, key)]
            yield kind, key

    def _live(self, entry: Entry) -> bool:
        _, _, kind, key, token = entry
        return self._tokens.get((kind, key)) == token
