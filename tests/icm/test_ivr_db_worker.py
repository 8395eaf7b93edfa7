"""The IVR's database workers drop a look-up whose caller stopped waiting (a burst must not
make every later caller wait behind abandoned look-ups)."""

from __future__ import annotations

import gevent
import pytest

from icm.daemon.ivr.db_worker import DbWorker as _DbWorker


def test_a_look_up_whose_caller_gave_up_is_never_run(monkeypatch):
    monkeypatch.setattr(_DbWorker, "WORKERS", 1)
    monkeypatch.setattr(_DbWorker, "WAIT", 0.2)
    worker = _DbWorker()
    ran: list[str] = []

    def slow(name: str) -> str:
        gevent.sleep(0.5)  # the only worker is busy longer than the next caller waits
        ran.append(name)
        return name

    first = gevent.spawn(lambda: pytest.raises(gevent.Timeout, worker.run, slow, "first"))
    gevent.sleep(0.01)
    with pytest.raises(gevent.Timeout):
        worker.run(ran.append, "second")  # queued behind the slow one; its caller gives up
    first.join()
    gevent.sleep(0.6)  # the worker is free again
    assert worker.run(lambda: "third") == "third"  # later callers are served at once
    assert ran == ["first"]
    assert worker.dropped == 1
