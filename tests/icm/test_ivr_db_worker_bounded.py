"""The IVR's database look-ups wait in a bounded queue (issue 21 finding 6): with the database
stuck, a full queue refuses a new look-up at once (the caller takes its time-out fallback,
logged) instead of growing by the call; look-ups whose callers gave up are cleared out first,
and nothing queued in time is lost."""

from __future__ import annotations

import logging

import gevent
import gevent.event
import pytest

from icm.daemon.ivr.db_worker import DbWorker, LookupRefused


def stuck_worker(monkeypatch, wait: float = 5.0) -> tuple[DbWorker, gevent.event.Event]:
    monkeypatch.setattr(DbWorker, "WORKERS", 1)
    monkeypatch.setattr(DbWorker, "LIMIT", 3)
    monkeypatch.setattr(DbWorker, "WAIT", wait)
    worker, database = DbWorker(), gevent.event.Event()

    def stuck() -> str:
        database.wait()  # the database answers nothing until set
        return "stuck"

    gevent.spawn(worker.run, stuck)
    gevent.sleep(0.01)  # the only worker is inside it
    return worker, database


def test_a_full_queue_refuses_at_once_and_the_queued_look_ups_are_still_served(monkeypatch, caplog):
    worker, database = stuck_worker(monkeypatch)
    queued = [gevent.spawn(worker.run, lambda n=n: n) for n in range(3)]
    gevent.sleep(0.01)
    with caplog.at_level(logging.WARNING), pytest.raises(gevent.Timeout) as refused:
        worker.run(lambda: "fourth")  # no wait: the caller's fallback runs now
    assert isinstance(refused.value, LookupRefused)
    assert worker.refused == 1
    assert "refusing new ones; calls are routed by the last routing table" in caplog.text
    database.set()
    gevent.joinall(queued, timeout=5)
    assert [g.value for g in queued] == [0, 1, 2]  # nothing queued was lost


def test_look_ups_whose_callers_gave_up_make_room_before_any_refusal(monkeypatch):
    worker, database = stuck_worker(monkeypatch, wait=0.1)
    gave_up = [gevent.spawn(worker.run, lambda: "late") for _ in range(3)]
    gevent.joinall(gave_up, timeout=5)
    assert all(isinstance(g.exception, gevent.Timeout) for g in gave_up)
    monkeypatch.setattr(DbWorker, "WAIT", 5.0)
    served = gevent.spawn(worker.run, lambda: "served")  # the full queue held only the abandoned
    gevent.sleep(0.01)
    database.set()
    served.join(timeout=5)
    assert served.value == "served"
    assert worker.refused == 0 and worker.dropped == 3
