"""The daemon's one outbox: everything icm persists, written in order, retried, bounded, spilled.

Each feature's writes go to a named stream (`Outbox.stream`): a list of rows (written in order),
a keyed table (the newest row per key wins: CDRs) or one latest value (the switch's status).
`flush()` writes the streams in the order they were declared; the first that fails stops the
flush (a later stream never overtakes an earlier one's rows) and keeps every row for the next
try, which the persister greenlet makes with a growing back-off.

Nothing waits for the database in memory only: when a write fails (the database is away),
every stream with a spill directory moves the rows it holds to its spill file under
`spill_dir` (one file per stream, length-prefixed pickles written and read only by this
daemon, fsynced), so a `kill -9` during an outage loses at most the rows of the last
persist interval. Past `limit` rows a stream also spills its oldest rows while the database
answers. A spill is written back first, in chunks, and cut from its head only after each
chunk is committed; a daemon that dies between the commit and the cut writes that chunk
again at its next start, so every stream's writer must be idempotent (upserts, natural-key
`ON CONFLICT DO NOTHING`): replayed once means saved once. A spill file left by a daemon
that died is replayed by the next one at start, before anything new; a torn last row (the
daemon died mid-append) is cut off when the file is opened.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import struct
import time
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
_FRAME = struct.Struct(">I")
SPILL_CHUNK = 1000  # rows per write when a stream replays its spill


class _Spill:
    """An append-only file of pickled rows (oldest first), replayed from its head."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = self._repair() if path.exists() else 0

    def _repair(self) -> int:
        """Count the intact rows; cut a torn last row off (a daemon died mid-append)."""
        rows, end = 0, 0
        for _row, offset in self._frames(0, None):
            rows, end = rows + 1, offset
        if end < self.path.stat().st_size:
            log.error("outbox: %s has a torn row at its end; the rest is kept", self.path)
            with self.path.open("r+b") as spill:
                spill.truncate(end)
        return rows

    def size(self) -> int:
        return self.path.stat().st_size if self.count and self.path.exists() else 0

    def append(self, rows: list[Any]) -> None:
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as out:
            out.write(
                b"".join(
                    _FRAME.pack(len(data)) + data
                    for data in (
                        pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL) for row in rows
                    )
                )
            )
            out.flush()
            os.fsync(out.fileno())
        self.count += len(rows)

    def batches(self, size: int, stop: int) -> Iterator[tuple[list[Any], int]]:
        """The rows before byte `stop`, `size` at a time, each batch with the offset after it."""
        batch: list[Any] = []
        for row, offset in self._frames(0, stop):
            batch.append(row)
            if len(batch) >= size:
                yield batch, offset
                batch = []
        if batch:
            yield batch, stop

    def cut(self, offset: int, rows: int) -> None:
        """Remove the first `offset` bytes (`rows` rows, written): the file keeps the rest."""
        if offset <= 0:
            return
        if offset >= self.path.stat().st_size:
            self.path.unlink(missing_ok=True)
            self.count = 0
            return
        rest = self.path.with_suffix(".rest")
        with self.path.open("rb") as src, rest.open("wb") as dst:
            src.seek(offset)
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(rest, self.path)  # atomic: a crash leaves the old file or the new one
        self.count = max(0, self.count - rows)

    def _frames(self, start: int, stop: int | None) -> Iterator[tuple[Any, int]]:
        with self.path.open("rb") as spill:
            spill.seek(start)
            offset = start
            while stop is None or offset < stop:
                header = spill.read(_FRAME.size)
                if len(header) < _FRAME.size:
                    return
                length = _FRAME.unpack(header)[0]
                data = spill.read(length)
                if len(data) < length:
                    return
                try:
                    row = pickle.loads(data)  # noqa: S301 - written by this daemon only
                except (pickle.UnpicklingError, EOFError, ValueError):
                    return
                offset += _FRAME.size + length
                yield row, offset


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

    def spill_pending(self) -> None:
        """Move the rows held in memory to the spill file (the database is away)."""
        if self._spill is not None and self._rows:
            self._spill.append(self._rows)  # cleared once on disk: a failed append keeps them
            self._rows = []

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

    def _prepare(self, batch: list[T]) -> list[T]:
        return batch

    def _replay_spill(self) -> None:
        """Write the spill back, oldest first, in chunks; cut what was committed from its head.

        Rows spilled while it replays (another greenlet overflowing during a pause) lie past
        the end read here and wait for the next flush."""
        spill = self._spill
        if spill is None or not spill.count:
            return
        stop, written, rows = spill.size(), 0, 0
        try:
            for batch, offset in spill.batches(self.chunk or SPILL_CHUNK, stop):
                self._write(self._prepare(batch))
                written, rows = offset, rows + len(batch)
                self._pause()
        finally:
            spill.cut(written, rows)

    def flush(self) -> None:
        """Write everything pending; on an exception keep the rest (in order) and re-raise."""
        self._replay_spill()
        rows, self._rows = self._rows, []
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

    def spill_pending(self) -> None:
        if self._spill is not None and self._table:
            self._spill.append(list(self._table.values()))
            self._table = {}

    def _prepare(self, batch: list[T]) -> list[T]:
        """A spilled chunk's newest row per key (a later spill holds a newer row)."""
        return list({self._key(row): row for row in batch}.values())

    def flush(self) -> None:
        self._replay_spill()  # older rows first: the newer ones below overwrite them
        table, self._table = self._table, {}
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

    def spill_pending(self) -> None:
        """Not spilled: the next connection's status replaces it anyway."""

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
        self.failing_since: float | None = None  # wall-clock time of the first failed write

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
                if self.failing_since is None:
                    self.failing_since = time.time()
                self.after_failure()
                self.spill_pending()
                return False
        self.failing_since = None
        return True

    def health(self) -> tuple[float | None, int]:
        """(since when writes fail, None when they do not; the rows waiting)."""
        return self.failing_since, self.pending()

    def spill_pending(self) -> None:
        """Every stream's rows held in memory to its spill file: nothing waits for the
        database in memory only (a kill -9 during an outage loses no saved row)."""
        for stream in self._streams:
            try:
                stream.spill_pending()
            except OSError as exc:  # a full or read-only disk: the rows stay in memory
                log.error("icm %s: %s could not spill (%s)", self.owner, stream.label, exc)
