"""The link between a caller waiting in a queue (its IVR greenlet) and the ACD: an exit is
taken once, an exit nobody takes (the caller hung up as it overflowed) is forgotten, and the
caller's key presses reach the consumer as requests."""

from __future__ import annotations

import gevent

from icm.daemon.acd.messages import CallbackRequested, LeaveQueue
from icm.daemon.acd.waiting_callers import KEEP_SECONDS, QueueExit, WaitingCallers


def test_an_exit_is_taken_once_and_an_untaken_one_is_forgotten():
    now = [0.0]
    waiting = WaitingCallers(post=lambda item: None, clock=lambda: now[0])
    waiting.left("c1", QueueExit("voicemail", "", "sales"))
    waiting.left("c2", QueueExit("hangup", "", "sales"))  # its caller is gone: never taken
    assert waiting.take_exit("c1") == QueueExit("voicemail", "", "sales")
    assert waiting.take_exit("c1") is None
    now[0] = KEEP_SECONDS + 1
    waiting.left("c3", QueueExit("flow", "night", "sales"))
    assert waiting.take_exit("c2") is None  # pruned: memory stays bounded
    assert waiting.take_exit("c3") is not None


def test_key_presses_reach_the_consumer_and_its_answer_comes_back():
    posted: list[object] = []
    waiting = WaitingCallers(post=posted.append)

    def consumer() -> None:
        while len(posted) < 2:
            gevent.sleep(0.005)
        callback, leave = posted
        assert isinstance(callback, CallbackRequested) and isinstance(leave, LeaveQueue)
        callback.result.set(True)
        leave.result.set(False)  # an agent's phone rang meanwhile: the caller stays

    worker = gevent.spawn(consumer)
    asked = (
        gevent.spawn(waiting.request_callback, "c1"),
        gevent.spawn(waiting.leave_for, "c1", "voicemail"),
    )
    gevent.joinall(asked, timeout=5, raise_error=True)
    worker.get(timeout=5)
    assert [g.value for g in asked] == [True, False]
