"""The IVR's database workers: a few greenlets running every IVR session's database look-ups,
each on one long-lived connection, behind a bounded queue (issue 21 finding 6).

Django gives each greenlet its own connection (its connections are thread-local, and gevent's
monkey-patching makes thread-locals greenlet-local): a connection per call would mean a new
PostgreSQL session per caller (slow) or one held open per waiting caller (exhausting).
Several workers, because a call makes a few look-ups and one worker in turn caps the call rate.

A look-up whose caller stopped waiting (WAIT seconds) is dropped, not run: under a burst,
running the abandoned ones first made every later caller wait too (all of them then hung up
with "IVR failed"). A look-up cut off inside a query (a connector's time-out) leaves its
connection mid-command: the worker closes it, the next look-up reconnects.

The queue holds LIMIT look-ups at most. With the database stuck the workers take nothing, and
every new caller's look-up used to stay queued after its caller had given up: the queue grew
by the call. Now, when it is full, the look-ups whose callers gave up are cleared out first;
if it is still full the new one is refused at once with `LookupRefused` (logged once per
episode). It is a `gevent.Timeout`, so each caller takes its time-out's fallback — the
routing look-up routes by the last routing table, without customer data — without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.queue
import psycopg
from django.db import connection

log = logging.getLogger(__name__)


class LookupRefused(gevent.Timeout):
    """The workers' queue is full: the look-up was not queued (the caller's time-out path)."""


class DbWorker:
    WORKERS = 4
    WAIT = 10.0  # seconds a caller waits for its look-up
    LIMIT = 1_000  # look-ups queued at most

    def __init__(self) -> None:
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._workers: list[gevent.Greenlet] = []
        self.dropped = 0  # look-ups never run: their callers had given up
        self.refused = 0  # look-ups not queued: the queue was full
        self._full_logged = False

    def run(self, func: Callable[..., Any], *args: Any) -> Any:
        self._workers = [w for w in self._workers if not w.dead]
        while len(self._workers) < self.WORKERS:
            self._workers.append(gevent.spawn(self._serve))
        if self._queue.qsize() >= self.LIMIT:
            self._clear_abandoned()
        if self._queue.qsize() >= self.LIMIT:
            self.refused += 1
            if not self._full_logged:
                self._full_logged = True
                log.warning(
                    "IVR database look-ups: %d queued, none taken in time (database stuck?): "
                    "refusing new ones; calls are routed by the last routing table",
                    self._queue.qsize(),
                )
            raise LookupRefused()
        self._full_logged = False
        result = gevent.event.AsyncResult()
        self._queue.put((func, args, result, time.monotonic() + self.WAIT))
        return result.get(timeout=self.WAIT)

    def _clear_abandoned(self) -> None:
        now = time.monotonic()
        waiting = self._queue.queue  # gevent's deque: nothing waits to put (never bounded)
        kept = [entry for entry in waiting if entry[3] >= now]
        self.dropped += len(waiting) - len(kept)
        waiting.clear()
        waiting.extend(kept)

    def _serve(self) -> None:
        while True:
            func, args, result, deadline = self._queue.get()
            if time.monotonic() > deadline:
                self.dropped += 1
                continue
            try:
                result.set(func(*args))
            except Exception as exc:  # handed to the caller
                connection.close()
                result.set_exception(exc)
            else:
                close_if_mid_command()


def close_if_mid_command() -> None:
    """Close this greenlet's connection when a query on it was cut off (still ACTIVE):
    reused, it would fail every later query ("another command is already in progress")."""
    raw = connection.connection
    if raw is not None and not connection.in_atomic_block:
        if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            connection.close()
