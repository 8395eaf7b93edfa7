"""icm's one outbox: rows written in order, kept through a database outage, bounded in memory,
spilled to disk and replayed (also by the next daemon after a crash)."""

from __future__ import annotations

import pytest

from icm.daemon.outbox import Outbox


class Down(Exception):
    """The database is unreachable."""


class Table:
    """A writer that fails while `down` (as a database would)."""

    def __init__(self) -> None:
        self.rows: list = []
        self.down = False
        self.calls = 0

    def write(self, rows: list) -> None:
        self.calls += 1
        if self.down:
            raise Down("connection refused")
        self.rows.extend(rows)


def test_rows_are_written_in_order_and_kept_through_an_outage(caplog):
    table = Table()
    box = Outbox("fs1", retry_on=(Down,))
    stream = box.rows("facts", "statistics facts", table.write)
    stream.put(1)
    table.down = True
    stream.put(2)
    assert not box.flush()
    assert "2 statistics facts not saved (connection refused); retrying" in caplog.text
    stream.put(3)
    assert box.pending() == 3
    table.down = False
    assert box.flush()
    assert table.rows == [1, 2, 3]
    assert box.pending() == 0


def test_a_failing_stream_stops_the_flush_so_later_streams_never_overtake():
    first, second = Table(), Table()
    box = Outbox("fs1", retry_on=(Down,))
    box.rows("a", "agent changes", first.write).put("change")
    box.rows("b", "calls", second.write).put("cdr")
    first.down = True
    assert not box.flush()
    assert second.calls == 0  # not tried while the first is failing
    first.down = False
    assert box.flush()
    assert (first.rows, second.rows) == (["change"], ["cdr"])


def test_an_error_that_is_not_the_databases_is_not_swallowed():
    box = Outbox("fs1", retry_on=(Down,))

    def broken(rows: list) -> None:
        raise ValueError("bug")

    box.rows("x", "rows", broken).put(1)
    with pytest.raises(ValueError):
        box.flush()
    assert box.pending() == 1  # and nothing is lost


def test_a_keyed_stream_writes_the_newest_row_per_key():
    table = Table()
    box = Outbox("fs1", retry_on=(Down,))
    calls = box.keyed("calls", "calls", table.write, key=lambda row: row[0])
    calls.put(("call-1", "ringing"))
    table.down = True
    assert not box.flush()
    calls.put(("call-1", "answered"))  # newer than the one kept for the retry
    calls.put(("call-2", "ringing"))
    table.down = False
    assert box.flush()
    assert sorted(table.rows) == [("call-1", "answered"), ("call-2", "ringing")]


def test_latest_value_keeps_only_the_newest():
    saved = []
    box = Outbox("fs1", retry_on=(Down,))
    status = box.latest("switch status", saved.append)
    status.put((True, 1))
    status.put((False, 2))
    assert box.flush()
    assert saved == [(False, 2)]


def test_past_its_bound_a_stream_spills_to_disk_and_writes_it_back_first(tmp_path):
    table = Table()
    table.down = True
    box = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=10)
    stream = box.rows("facts", "statistics facts", table.write)
    for n in range(25):
        stream.put(n)
    assert len(stream._rows) <= 10  # memory stays bounded
    assert (tmp_path / "facts.spill").exists()
    assert box.pending() == 25
    assert not box.flush()
    table.down = False
    assert box.flush()
    assert table.rows == list(range(25))  # nothing lost, nothing doubled, in order
    assert not (tmp_path / "facts.spill").exists()


def test_a_spill_left_by_a_crashed_daemon_is_replayed_by_the_next(tmp_path):
    dead = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=4)
    down = Table()
    down.down = True
    stream = dead.rows("facts", "statistics facts", down.write)
    for n in range(9):
        stream.put(n)
    # the daemon dies here (kill -9): what was in memory is lost, the spill is not
    table = Table()
    box = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=4)
    box.rows("facts", "statistics facts", table.write).put("new")
    assert box.flush()
    spilled = table.rows[:-1]
    assert spilled == sorted(spilled) and len(spilled) >= 5 and table.rows[-1] == "new"


def test_a_torn_last_row_in_a_spill_loses_only_that_row(tmp_path, caplog):
    table = Table()
    table.down = True
    box = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=2)
    stream = box.rows("facts", "statistics facts", table.write)
    for n in range(6):
        stream.put(n)
    path = tmp_path / "facts.spill"
    path.write_bytes(path.read_bytes()[:-3])  # the daemon died mid-write
    reborn = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=2)
    fresh = Table()
    reborn.rows("facts", "statistics facts", fresh.write)
    assert reborn.flush()
    assert fresh.rows == list(range(len(fresh.rows)))  # the intact rows, in order
    assert "torn row" in caplog.text


def test_without_a_spill_directory_overflow_is_dropped_loudly(caplog):
    table = Table()
    table.down = True
    box = Outbox("fs1", retry_on=(Down,), limit=4)
    stream = box.rows("facts", "statistics facts", table.write)
    for n in range(9):
        stream.put(n)
    assert "dropped (memory bound 4, no spill directory)" in caplog.text
    assert len(stream) <= 4


def test_a_stream_written_in_chunks_lets_others_run_and_keeps_only_what_failed():
    table, pauses = Table(), []
    box = Outbox("fs1", retry_on=(Down,), pause=lambda: pauses.append(len(table.rows)))
    stream = box.rows("facts", "statistics facts", table.write, chunk=3)
    for n in range(7):
        stream.put(n)
    writes = table.write

    def fail_third_write(rows: list) -> None:
        if table.calls == 2:
            table.calls += 1
            raise Down("gone mid-way")
        writes(rows)

    stream._write = fail_third_write
    assert not box.flush()
    assert table.rows == [0, 1, 2, 3, 4, 5] and pauses == [3, 6]
    assert box.pending() == 1  # the chunks written are not written again
    assert box.flush()
    assert table.rows == list(range(7))


def test_a_failed_write_puts_every_streams_rows_on_disk_so_a_kill_9_loses_none(tmp_path):
    """Finding 1 (issue 21): rows waiting for the database lived in memory and died with a
    kill -9. Once a write fails, every stream's rows are on disk; the next daemon saves them."""
    facts, cdrs = Table(), Table()
    facts.down = True
    box = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=1000)
    fact_rows = box.rows("facts", "statistics facts", facts.write)
    calls = box.keyed("calls", "calls", cdrs.write, key=lambda row: row[0])
    fact_rows.extend([1, 2])
    calls.put(("call-1", "answered"))
    assert not box.flush()
    fact_rows.put(3)  # put after the failure: on disk at the next failed try
    calls.put(("call-1", "ended"))
    assert not box.flush()
    # kill -9 here: a new daemon on the same spill directory, the database back
    facts2, cdrs2 = Table(), Table()
    reborn = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=1000)
    reborn.rows("facts", "statistics facts", facts2.write)
    reborn.keyed("calls", "calls", cdrs2.write, key=lambda row: row[0])
    assert reborn.pending() == 5  # three facts, two versions of the call
    assert reborn.flush()
    assert facts2.rows == [1, 2, 3]
    assert cdrs2.rows == [("call-1", "ended")]  # the newest version of the call wins
    assert not list(tmp_path.glob("*.spill"))


def test_a_spill_replayed_in_chunks_keeps_only_the_rows_not_written(tmp_path):
    table = Table()
    table.down = True
    box = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=1000)
    stream = box.rows("facts", "statistics facts", table.write, chunk=4)
    stream.extend(list(range(10)))
    assert not box.flush()
    table.down, table.calls = False, 0
    writes = table.write

    def fail_second_chunk(rows: list) -> None:
        if table.calls == 1:
            table.calls += 1
            raise Down("gone mid-replay")
        writes(rows)

    stream._write = fail_second_chunk
    assert not box.flush()
    assert table.rows == [0, 1, 2, 3] and box.pending() == 6  # the first chunk is cut off
    assert box.flush()
    assert table.rows == list(range(10))


def test_rows_spilled_while_a_spill_replays_wait_for_the_next_flush(tmp_path):
    table = Table()
    table.down = True
    box = Outbox("fs1", retry_on=(Down,), spill_dir=tmp_path, limit=4)
    stream = box.rows("facts", "statistics facts", table.write, chunk=2)
    stream.extend(list(range(6)))
    assert not box.flush()
    table.down = False
    late = iter(range(100, 106))

    def overflow_during_pause() -> None:  # another greenlet puts enough to overflow
        for _ in range(3):
            stream.put(next(late, None))

    stream._pause = overflow_during_pause
    assert box.flush()
    stream._pause = lambda: None
    assert box.flush()
    assert table.rows[:6] == list(range(6))
    assert sorted(r for r in table.rows[6:] if r is not None) == list(range(100, 106))
    real = [r for r in table.rows if r is not None]
    assert len(real) == len(set(real)) == 12  # nothing written twice, nothing lost
