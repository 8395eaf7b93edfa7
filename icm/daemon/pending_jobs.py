"""`PendingJobs`: a feature's bgapi jobs waiting for their BACKGROUND_JOB (Job-UUID → what the
job was for), forgetting, with a log line, a job whose result never came (issue 21 finding 6).

A switch that drops the connection, restarts or loses the event between the job's start and
its result leaves the job in the map for ever; such a map grew by one entry per lost job for
the life of the daemon. A result is normally back within seconds (an originate's ring time
at most), so a job older than `max_age` is forgotten when a new one is added; its leg's own
events, the reconciler and the resync still decide what became of the call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from icm.domain.recent import Recent

log = logging.getLogger(__name__)
V = TypeVar("V")
MAX_AGE = 600.0  # seconds: longer than any ring time or originate time-out
LIMIT = 50_000  # jobs at most, whatever their age


class PendingJobs(Generic[V]):
    """Job-UUID → what it was for, until its result comes or it is `max_age` seconds old."""

    def __init__(
        self,
        owner: str,
        max_age: float = MAX_AGE,
        limit: int = LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.owner = owner  # for the log line: "acd fs1", "campaigns fs1" …
        self.forgotten = 0
        self._jobs: Recent[str, V] = Recent(max_age, limit, clock)

    def __setitem__(self, job: str, what: V) -> None:
        for old, was_for in self._jobs.put(job, what):
            self.forgotten += 1
            log.warning(
                "%s: bgapi job %s (%s) got no result in %.0f s; forgotten",
                self.owner,
                old,
                was_for,
                self._jobs.max_age,
            )

    def pop(self, job: str, default: V | None = None) -> V | None:
        return self._jobs.pop(job, default)

    def get(self, job: str, default: V | None = None) -> V | None:
        return self._jobs.get(job, default)

    def __contains__(self, job: object) -> bool:
        return job in self._jobs

    def __len__(self) -> int:
        return len(self._jobs)
