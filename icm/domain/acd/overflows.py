"""Overflow: a waiting contact leaves its queue for somewhere else (R-7, R-9) — another queue,
an extension or number, voicemail, a flow, a goodbye — when it waited too long, when the
expected wait is too long, or when the caller pressed a key to leave. A call-back overflow is
the exception: the contact keeps its place and waits on as a call-back. A part of the ACD
engine (mixed into `Acd`), split out for size."""

from __future__ import annotations

import logging
from dataclasses import replace

from .model import Contact, ContactOutcome, Media, QueuePolicy
from .outputs import CallbackOverflow, ContactFinished, Output
from .timers import Timers

log = logging.getLogger(__name__)

# where a contact can overflow to; the first ones need a target
TARGET_KINDS = ("queue", "extension", "number", "flow", "voicemail", "callback", "hangup")
NEEDS_TARGET = ("queue", "extension", "number", "flow")
# what a caller may leave for by a key press while waiting (voicemail: the queue's mailbox)
LEAVE_KINDS = ("voicemail",)


class Overflows:
    policies: dict[str, QueuePolicy]
    contacts: dict[str, Contact]
    offers: dict[str, set[str]]
    timers: Timers

    def _finish(
        self,
        contact: Contact,
        now: float,
        outcome: ContactOutcome,
        agent_id: str = "",
        target_kind: str = "",
        target: str = "",
    ) -> list[Output]:
        raise NotImplementedError  # the engine's

    def enqueue(self, contact: Contact, now: float) -> list[Output]:
        raise NotImplementedError  # the engine's

    def convert_to_callback(self, contact_id: str, now: float) -> bool:
        raise NotImplementedError  # the engine's

    def leave_queue(self, contact_id: str, kind: str, now: float) -> list[ContactFinished]:
        """The waiting caller pressed a key to leave (for the queue's voicemail): refused
        (ValueError) once an agent's phone rings for it or when it no longer waits."""
        contact = self.contacts.get(contact_id)
        if kind not in LEAVE_KINDS:
            raise ValueError(f"a caller cannot leave a queue for {kind!r}")
        if contact is None or contact.media is Media.CALLBACK:
            raise ValueError("the caller no longer waits in a queue")
        if self.offers.get(contact_id):
            raise ValueError("an agent's phone rings for the caller")
        finished = self._overflow(contact, now, kind, "")
        return [out for out in finished if isinstance(out, ContactFinished)]

    def callback_refused(self, contact_id: str, now: float) -> list[Output]:
        """A call-back overflow whose number the dialling rules refuse: the caller, still
        on the line, leaves for the queue's voicemail instead."""
        contact = self.contacts.get(contact_id)
        if contact is None or contact.offered_to:
            return []
        contact.media = Media.VOICE
        return self._overflow(contact, now, "voicemail", "")

    def _overdue_overflow(self, contact: Contact, now: float) -> list[Output]:
        if contact.media is Media.CALLBACK:  # the caller hung up; the place is kept until served
            return []
        policy = self.policies[contact.queue]
        waited = now - contact.enqueued_at
        for rule in policy.overflow:
            if rule.after_seconds is not None and waited >= rule.after_seconds:
                return self._overflow(contact, now, rule.target_kind, rule.target)
        if policy.max_wait is not None and waited >= policy.max_wait:
            return self._overflow(contact, now, "voicemail", "")
        return []

    def _overflow(self, contact: Contact, now: float, kind: str, target: str) -> list[Output]:
        log.info(
            "contact %s (%s): overflow to %s %s", contact.contact_id, contact.queue, kind, target
        )
        if kind == "callback":
            if not self.convert_to_callback(contact.contact_id, now):
                return []  # already a call-back, or being offered: it stays as it is
            self.timers.cancel("overflow", contact.contact_id)
            return [CallbackOverflow(contact.contact_id, contact.queue)]
        out = self._finish(contact, now, ContactOutcome.OVERFLOWED, "", kind, target)
        if kind == "queue" and target in self.policies:
            moved = replace(contact, queue=target, offered_to=frozenset(), declined_by=set())
            out += self.enqueue(moved, now)
        return out
