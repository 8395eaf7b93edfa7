"""What the ACD feature takes in through the inbox: contacts arriving, requests from the bus,
its timers and repairs (each run by the consumer greenlet, the single writer)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gevent.event

from icm.domain.acd.model import Contact


@dataclass(frozen=True, slots=True)
class ContactArrived:
    """An IVR handed a call to a queue (put in icm's inbox by the IVR greenlet)."""

    contact: Contact
    posted: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """A waiting caller pressed the call-back key (posted by its IVR greenlet)."""

    contact_id: str
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


@dataclass(frozen=True, slots=True)
class LeaveQueue:
    """A waiting caller pressed a key to leave its queue (for voicemail); posted by its IVR
    greenlet. The result is True when the ACD let it go."""

    contact_id: str
    kind: str
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


@dataclass(frozen=True, slots=True)
class OfferLegFailed:
    """An agent leg will never ring (originate refused, switch gone): re-route its contact."""

    leg: str
    cause: str


@dataclass(frozen=True, slots=True)
class RepairLeg:
    """The reconciler found an agent's leg gone from the switch (a lost event)."""

    agent_id: str
    leg: str


@dataclass(frozen=True, slots=True)
class AcdTick:
    """A timer of the engine is due."""


@dataclass(slots=True)
class AcdRequest:
    """A command from the bus, run by the consumer greenlet; the result comes back here."""

    name: str
    args: dict[str, Any]
    # read from the database by the command greenlet (AcdRuntime.preload), not the consumer
    loaded: dict[str, Any] = field(default_factory=dict)
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


class AcdError(Exception):
    """A refused ACD command (unknown agent, illegal state change …), fit to show a user."""
