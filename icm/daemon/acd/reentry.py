"""The queues' door after an icm start (issue 21): callers reach the ACD only once it knows
the switch again, and callers kept by the switch through an icm crash get their places back.

When icm starts, the door is shut (`close`). A caller's session hands its arrival to `enter`
instead of the inbox; the ACD opens the door at its first resync (`open`), once it has linked
its agents back to their calls and stopped the phones that rang for offers the dead icm made
(icm.daemon.acd.recovery) — so no agent is offered a call while its phone still rings for an
old one. The door opens `grace` seconds later: callers whose socket the crash closed come
back through the switch's dialplan (a retry every `HOLD_SECONDS`); they are let in oldest
first (the time each first entered its queue, kept on the channel), so a caller who waited
before the crash is not put behind one who called after it. A door nobody opens (the switch
never answers) opens by itself after `MAX_SHUT` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gevent
import gevent.event

from icm.daemon.acd.messages import ContactArrived

log = logging.getLogger(__name__)

HOLD_SECONDS = 1.5  # the dialplan's pause between two tries at icm's socket (freeswitch_conf)
GRACE = HOLD_SECONDS + 0.5
MAX_SHUT = 60.0


class ReentryGate:
    def __init__(self, post: Callable[[object], None]) -> None:
        self.post = post
        self.shut = False
        self._opening = False  # the first resync came: the door opens after the grace
        self._pending: list[ContactArrived] = []
        self._opener: gevent.Greenlet | None = None
        self.opened = gevent.event.Event()  # set while the door is open
        self.opened.set()

    def close(self) -> None:
        """icm starts: hold arrivals until the ACD has seen the switch (`open`)."""
        self.shut, self._opening = True, False
        self.opened.clear()
        if self._opener is not None:
            self._opener.kill(block=False)
        self._opener = gevent.spawn_later(MAX_SHUT, self._let_in, "no resync came")

    def enter(self, arrival: ContactArrived) -> None:
        """A caller reaches its queue: at once while the door is open, else at the opening."""
        if not self.shut:
            self.post(arrival)
            return
        log.info("call %s: held until the queues open (icm starting)", arrival.contact.contact_id)
        self._pending.append(arrival)

    def holds(self, contact_id: str) -> bool:
        """Whether this caller waits at the door (its keys are kept until it is in)."""
        return any(arrival.contact.contact_id == contact_id for arrival in self._pending)

    def open(self, grace: float | None = None) -> None:
        """The first resync is done: let the callers in `grace` seconds (GRACE) from now."""
        if not self.shut or self._opening:
            return
        grace = GRACE if grace is None else grace
        if self._opener is not None:
            self._opener.kill(block=False)
        self._opening = True
        self._opener = gevent.spawn_later(grace, self._let_in, "resynced")

    def _let_in(self, why: str) -> None:
        pending, self._pending = self._pending, []
        self.shut, self._opening = False, False
        self._opener = None
        pending.sort(key=lambda arrival: arrival.contact.enqueued_at)
        log.info("queues open (%s): %d callers let in, oldest first", why, len(pending))
        for arrival in pending:
            self.post(arrival)
        self.opened.set()
