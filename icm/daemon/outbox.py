"""The daemon's one outbox: everything icm persists, written in order, retried, bounded, spilled.

Each feature's writes go to a named stream (`Outbox.stream`): a list of rows (written in order),
a keyed table (the newest row per key wins: CDRs) or one latest value (the switch's status).
`flush()` writes the streams in the order they were declared; the first that fails stops the
flush (a later stream never overtakes an earlier one's rows) and keeps every row for the next
try, which the persister greenlet makes with a growing back-off.

Memory is bounded: past `limit` rows, a stream moves its oldest rows to a spill file under
`spill_dir` (one file per stream, length-prefixed pickles written and read only by this
daemon), and writes them back first once the database answers again. A spill file left by a
daemon that died is replayed by the next one at start, before anything new.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
_FRAME = struct.Struct(">I")


class _Spill:
    """An append-only file of pickled rows (oldest first); `take()` reads them all back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = sum(1 for _ in self._read()) if path.exists() else 0

    def append(self, rows: list[Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as out:
            for row in rows:
                data = pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
                out.write(_FRAME.pack(len(data)) + data)
            out.flush()
            os.fsync(out.fileno())
        self.count += len(rows)

    def take(self) -> list[Any]:
        """Every spilled row (the file is removed; a failed write spills them again)."""
        if not self.count and not self.path.exists():
            return []
        rows = list(self._read())
        self.path.unlink(missing_ok=True)
        self.count = 0
        return rows

    def _read(self) -> Iterator[Any]:
        with self.path.open("rb") as spill:
            while header := spill.read(_FRAME.size):
                if len(header) < _FRAME.size:
                    break
                data = spill.read(_FRAME.unpack(header)[0])
                try:
                    yield pickle.loads(data)  # noqa: S301 - written by this daemon only
                except (pickle.UnpicklingError, EOFError, ValueError):
                    log.error("outbox: %s has a torn row at its end; the rest is kept", self.path)
                    break


class Stream(Generic[T]):
    """Rows of one kind, written in order by `write(rows)`."""

    def __init__(
        self,
        label: str,
        write: Callable[[list[T]], None],
        limit: int,
        spill: _Spill | None,
        chunk: int = 0,
        pause: Callable[[], None] = lambda: None,
    ) -> None:
        self.label = label
        self._write = write
        self.limit = limit
        self._spill = spill
        self.chunk = chunk  # rows per write (0: all at once)
        self._pause = pause  # between two chunks: lets the daemon's dispatch run
        self._rows: list[T] = []

    def put(self, row: T) -> None:
        self._rows.append(row)
        if len(self._rows) > self.limit:
            self._overflow()

    def extend(self, rows: list[T]) -> None:
        self._rows.extend(rows)
        if len(self._rows) > self.limit:
            self._overflow()

    def __len__(self) -> int:
        return len(self._rows) + (self._spill.count if self._spill else 0)

    def pending(self) -> bool:
        return bool(self._rows) or bool(self._spill and self._spill.count)

    def _overflow(self) -> None:
        keep = max(1, self.limit // 2)
        oldest, self._rows = self._rows[:-keep], self._rows[-keep:]
        if self._spill is None:
            log.error(
                "outbox: %d %s dropped (memory bound %d, no spill directory)",
                len(oldest),
                self.label,
                self.limit,
            )
            return
        self._spill.append(oldest)
        log.warning("outbox: %d %s spilled to %s", len(oldest), self.label, self._spill.path)

    def flush(self) -> None:
        """Write everything pending; on an exception keep it all (in order) and re-raise."""
        spilled = self._spill.take() if self._spill else []
        rows, self._rows = spilled + self._rows, []
        size = self.chunk or len(rows)
        done = 0
        try:
            while done < len(rows):
                self._write(rows[done : done + size])
                done += size
                if done < len(rows):
                    self._pause()
        except BaseException:
            self._rows = rows[done:] + self._rows  # what was written stays written
            if len(self._rows) > self.limit:
                self._overflow()
            raise


class KeyedStream(Stream[T]):
    """The newest row per key (a CDR per call): a row put again replaces the one waiting."""

    def __init__(
        self,
        label: str,
        write: Callable[[list[T]], None],
        limit: int,
        spill: _Spill | None,
        key: Callable[[T], Hashable],
    ) -> None:
        super().__init__(label, write, limit, spill)
        self._key = key
        self._table: dict[Hashable, T] = {}

    def put(self, row: T) -> None:
        self._table[self._key(row)] = row
        if len(self._table) > self.limit:
            self._rows = list(self._table.values())
            self._table = {}
            self._overflow()
            for kept in self._rows:
                self._table[self._key(kept)] = kept
            self._rows = []

    def __len__(self) -> int:
        return len(self._table) + (self._spill.count if self._spill else 0)

    def pending(self) -> bool:
        return bool(self._table) or bool(self._spill and self._spill.count)

    def flush(self) -> None:
        spilled = self._spill.take() if self._spill else []
        table: dict[Hashable, T] = {self._key(row): row for row in spilled}
        table.update(self._table)  # newer rows win
        self._table = {}
        if not table:
            return
        try:
            self._write(list(table.values()))
        except BaseException:
            table.update(self._table)  # rows put while writing are newer still
            self._table = table
            raise


class LatestValue(Generic[T]):
    """One value to save (the switch's status): only the latest is written."""

    def __init__(self, label: str, write: Callable[[T], None]) -> None:
        self.label = label
        self._write = write
        self._value: T | None = None

    def put(self, value: T) -> None:
        self._value = value

    def pending(self) -> bool:
        return self._value is not None

    def __len__(self) -> int:
        return int(self._value is not None)

    def flush(self) -> None:
        value, self._value = self._value, None
        if value is None:
            return
        try:
            self._write(value)
        except BaseException:
            self._value = self._value if self._value is not None else value
            raise


class Outbox:
    """The streams, flushed in declaration order by the persister greenlet."""

    def __init__(
        self,
        owner: str,
        retry_on: tuple[type[BaseException], ...],
        after_failure: Callable[[], None] = lambda: None,
        spill_dir: str | os.PathLike[str] | None = None,
        limit: int = 50_000,
        pause: Callable[[], None] = lambda: None,
    ) -> None:
        self.owner = owner
        self.retry_on = retry_on
        self.after_failure = after_failure
        self.spill_dir = Path(spill_dir) if spill_dir else None
        self.limit = limit
        self.pause = pause  # between two chunks of a stream (the daemon: gevent.sleep(0))
        self._streams: list[Stream[Any] | LatestValue[Any]] = []

    def _spill(self, name: str) -> _Spill | None:
        return _Spill(self.spill_dir / f"{name}.spill") if self.spill_dir else None

    def rows(
        self, name: str, label: str, write: Callable[[list[T]], None], chunk: int = 0
    ) -> Stream[T]:
        """Rows written in order, `chunk` at a time (0: all at once)."""
        stream: Stream[T] = Stream(label, write, self.limit, self._spill(name), chunk, self.pause)
        self._streams.append(stream)
        return stream

    def keyed(
        self, name: str, label: str, write: Callable[[list[T]], None], key: Callable[[T], Hashable]
    ) -> KeyedStream[T]:
        stream = KeyedStream(label, write, self.limit, self._spill(name), key)
        self._streams.append(stream)
        return stream

    def latest(self, label: str, write: Callable[[T], None]) -> LatestValue[T]:
        value: LatestValue[T] = LatestValue(label, write)
        self._streams.append(value)
        return value

    def pending(self) -> int:
        """Rows waiting in every stream (memory and spill)."""
        return sum(len(stream) for stream in self._streams)

    def flush(self) -> bool:
        """Write every stream in order; False at the first that fails (kept for the retry)."""
        for stream in self._streams:
            if not stream.pending():
                continue
            try:
                stream.flush()
            except self.retry_on as exc:
                log.warning(
                    "icm %s: %d %s not saved (%s); retrying",
                    self.owner,
                    len(stream),
                    stream.label,
                    exc,
                )
                self.after_failure()
                return False
        return True
