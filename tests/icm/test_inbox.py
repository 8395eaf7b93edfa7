"""icm's inbox is bounded by back-pressure (issue 21 finding 6): a producer waits while it is
full and nothing is ever dropped; the consumer's own posts and posts while the consumer is
stuck never wait (no deadlock with a reader whose api reply the consumer awaits)."""

from __future__ import annotations

import gevent
import gevent.event

from icm.daemon.inbox import Inbox


def test_a_producer_waits_while_the_inbox_is_full_and_nothing_is_lost():
    inbox = Inbox("fs", limit=10, stall=30)
    sent: list[int] = []

    def reader() -> None:  # the switch's reader greenlet: 50 events as fast as it can
        for n in range(50):
            inbox.put(n)
            sent.append(n)

    producer = gevent.spawn(reader)
    gevent.sleep(0.05)
    assert len(inbox) == 10 and len(sent) == 10  # it waits: the rest stay in the socket
    assert not producer.dead
    taken = []
    while len(taken) < 50:  # the consumer catches up: the reader goes on
        taken.append(inbox.get())
    producer.join(timeout=5)
    assert taken == list(range(50))  # every item, in order
    assert inbox.waited >= 1 and inbox.overfilled == 0


def test_the_consumers_own_posts_never_wait_on_a_full_inbox():
    inbox = Inbox("fs", limit=3, stall=30)
    inbox.put("first")
    done = gevent.event.Event()

    def consumer() -> None:
        inbox.get()  # this greenlet is the consumer now
        for n in range(10):  # a handler posting follow-ups beyond the limit
            inbox.put(n)
        done.set()

    gevent.spawn(consumer)
    assert done.wait(timeout=5)
    assert len(inbox) == 10


def test_a_stuck_consumer_lets_producers_in_beyond_the_limit():
    inbox = Inbox("fs", limit=5, stall=0.2)
    for n in range(5):
        inbox.put(n)
    # the consumer is waiting for an api reply only the waiting reader would read: after
    # `stall` s without a take the reader goes on (and the reply can come)
    finished = gevent.spawn(lambda: [inbox.put(n) for n in range(5, 8)])
    finished.join(timeout=5)
    assert finished.successful()
    assert len(inbox) == 8 and inbox.overfilled >= 1
    assert [inbox.get() for _ in range(8)] == list(range(8))


def test_a_take_below_the_low_water_mark_releases_a_waiting_producer():
    inbox = Inbox("fs", limit=4, stall=0.2)
    for n in range(4):
        inbox.put(n)
    waiting = gevent.spawn(inbox.put, "late")
    gevent.sleep(0.05)
    assert not waiting.dead  # it waits while the consumer may still come
    inbox.get()  # one take: below 90 % of the limit
    waiting.join(timeout=5)
    assert waiting.dead and len(inbox) == 4
