"""Callers leaving their queue without an agent (R-7, R-9): the ACD engine decides the way
out (an overflow rule, the maximum wait, the caller's key press); this part of the runtime
checks what the switch will be asked (a call-back number by the dialling rules) and leaves
the way out for the caller's own IVR greenlet (`WaitingCallers`), which carries it on its
socket session. A queue-to-queue overflow never leaves the engine. A part of AcdRuntime
(mixed in), split out for size."""

from __future__ import annotations

import logging
from collections.abc import Callable

from icm.daemon.acd.messages import CallbackRequested, LeaveQueue
from icm.daemon.acd.waiting_callers import QueueExit, WaitingCallers
from icm.domain.acd.engine import Acd
from icm.domain.acd.outputs import CallbackOverflow, ContactFinished, Output

log = logging.getLogger(__name__)


class OverflowExits:
    acd: Acd
    switch: str
    waiting: WaitingCallers
    callbacks: dict[str, str]
    number_refusal: Callable[[str], str]
    clock: Callable[[], float]
    apply: Callable[[list[Output]], None]

    def callback_requested(self, req: CallbackRequested) -> None:
        """Keep the caller's place as a call-back; its hang-up is then not an abandon."""
        contact = self.acd.contacts.get(req.contact_id)
        refused = self.number_refusal(contact.ani) if contact is not None else ""
        if refused:  # a caller's number is spoofable: the platform dials it only by the rules
            log.warning("call %s: no call-back to %s: %s", req.contact_id, contact.ani, refused)
            req.result.set(False)
            return
        if contact is None or not self.acd.convert_to_callback(req.contact_id, self.clock()):
            req.result.set(False)
            return
        self.callbacks[req.contact_id] = contact.ani
        req.result.set(True)

    def leave_queue(self, req: LeaveQueue) -> None:
        """The caller pressed the key to leave for voicemail (refused once a phone rings)."""
        try:
            outputs = self.acd.leave_queue(req.contact_id, req.kind, self.clock())
        except ValueError as exc:
            log.info("call %s: stays in its queue: %s", req.contact_id, exc)
            req.result.set(False)
            return
        self.apply(list(outputs))
        req.result.set(True)

    def _callback_overflow(self, out: CallbackOverflow) -> None:
        """An overflow rule made the waiting caller a call-back: its number must pass the
        dialling rules, or it leaves for the queue's voicemail instead."""
        contact = self.acd.contacts.get(out.contact_id)
        if contact is None:
            return
        refused = self.number_refusal(contact.ani)
        if refused:
            log.warning(
                "call %s: overflow to a call-back refused (%s); voicemail instead",
                out.contact_id,
                refused,
            )
            self.apply(self.acd.callback_refused(out.contact_id, self.clock()))
            return
        self.callbacks[out.contact_id] = contact.ani
        self.waiting.left(out.contact_id, QueueExit("callback", contact.ani, out.queue))

    def _overflowed(self, done: ContactFinished) -> None:
        """The engine overflowed the contact: its caller's greenlet carries the way out."""
        kind, target = done.target_kind, done.target
        if kind == "queue" and target in self.acd.policies:
            return  # the engine queued it there
        if kind == "queue" or kind not in ("voicemail", "flow", "extension", "number"):
            log.warning(
                "call %s: overflow from %s to %s %r: no such target; goodbye",
                done.contact_id,
                done.queue,
                kind,
                target,
            )
            kind, target = "hangup", ""
        elif kind == "number" and (refused := self.number_refusal(target)):
            log.warning(
                "call %s: overflow to %s refused by the dialling rules (%s); voicemail instead",
                done.contact_id,
                target,
                refused,
            )
            kind, target = "voicemail", ""
        self.waiting.left(done.contact_id, QueueExit(kind, target, done.queue))
