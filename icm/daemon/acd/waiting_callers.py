"""A caller waiting in a queue, as its IVR greenlet and the ACD share it: the way out the ACD
chose for it (an overflow to voicemail, a flow, an extension or number, a call-back, a
goodbye: R-7, R-9), and the caller's own requests by key press (a call-back keeping its place,
voicemail). The IVR greenlet carries the way out on the caller's own socket session (it
speaks, records, runs flows); the consumer only decides.

Requests go through the inbox to the consumer (the single writer); exits are left here by
the consumer and taken by the waiting greenlet, which polls while the caller hears music.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from icm.daemon.acd.messages import CallbackRequested, LeaveQueue
from icm.daemon.acd.reentry import ReentryGate

REPLY_SECONDS = 5.0
KEEP_SECONDS = 300.0  # an exit no greenlet took (the caller had gone) is forgotten after this


@dataclass(frozen=True, slots=True)
class QueueExit:
    """Where a caller goes on leaving its queue without an agent: `kind` is voicemail, flow,
    extension, number, callback (the place is kept; it is told it will be called back) or
    hangup (a goodbye); `target` the mailbox, flow, extension or number ("" : the queue's).
    `after_call`: the agent hung up and the flow the caller entered the queue with runs
    (a survey, AG-7)."""

    kind: str
    target: str
    queue: str


class WaitingCallers:
    def __init__(self, post: Callable[[object], None], clock=time.monotonic) -> None:
        self.post = post
        self.clock = clock
        self._exits: dict[str, tuple[QueueExit, float]] = {}  # oldest first
        self._after_call: set[str] = set()  # contacts whose flow runs when the agent leaves
        self.gate = ReentryGate(post)  # arrivals wait for the ACD's first resync (issue 21)

    # --- the consumer ---------------------------------------------------------------------
    def left(self, contact_id: str, exit_: QueueExit) -> None:
        """The ACD moved the caller out (called by the consumer)."""
        now = self.clock()
        while self._exits:  # the oldest first: stop at the first one still fresh
            oldest = next(iter(self._exits))
            if now - self._exits[oldest][1] <= KEEP_SECONDS:
                break
            del self._exits[oldest]
        self._exits.pop(contact_id, None)
        self._exits[contact_id] = (exit_, now)

    def agent_left(self, contact_id: str, queue: str) -> None:
        """The agent's leg of this contact's call hung up (called by the consumer): a caller
        whose flow asked for one goes on to its after-call flow (AG-7)."""
        if contact_id in self._after_call:
            self._after_call.discard(contact_id)
            self.left(contact_id, QueueExit("after_call", "", queue))

    # --- the caller's greenlet ------------------------------------------------------------
    def want_after_call(self, contact_id: str, wanted: bool = True) -> None:
        """This caller's flow runs again when its agent hangs up (set before the ACD has it;
        `wanted=False` when its session ends)."""
        if wanted:
            self._after_call.add(contact_id)
        else:
            self._after_call.discard(contact_id)

    def take_exit(self, contact_id: str) -> QueueExit | None:
        """The way out the ACD chose for this caller, once (None while it waits on)."""
        found = self._exits.pop(contact_id, None)
        return found[0] if found else None

    def request_callback(self, contact_id: str) -> bool:
        """Turn the waiting contact into a call-back that keeps its place (True if done)."""
        request = CallbackRequested(contact_id)
        self.post(request)
        return bool(request.result.get(timeout=REPLY_SECONDS))

    def leave_for(self, contact_id: str, kind: str) -> bool:
        """The caller leaves its queue for `kind` (voicemail); True when the ACD let it go
        (then its exit waits in `take_exit`), False once an agent's phone rings for it."""
        request = LeaveQueue(contact_id, kind)
        self.post(request)
        return bool(request.result.get(timeout=REPLY_SECONDS))
