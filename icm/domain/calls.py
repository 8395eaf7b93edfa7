"""The live call model (ICM-2): every call and leg on every switch, updated by domain events.

`LiveCalls.apply(event)` is a pure state transition: it returns the records that changed
(immutable `CallRecord`s), which the daemon persists and publishes. Every record is keyed by
its switch, so one model serves several FreeSWITCH nodes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from . import events as ev
from .recent import Recent

log = logging.getLogger(__name__)

RESYNC_HANGUP_CAUSE = "ICM_RESYNC_NOT_ON_SWITCH"
"""Hang-up cause recorded for a leg that vanished while icm was not listening."""

TOMBSTONE_LIMIT = 20_000
"""How many recently hung-up legs are remembered per model, so that a resync snapshot taken
from FreeSWITCH's lagging channel table cannot bring them back to life."""
ENDED_KEPT = 2_000  # recently ended calls a late leg can still join
RECENT_SECONDS = 60.0
"""…for this long at most (a lagging table or a late leg shows within seconds): at a steady
call rate these memories stop growing after a minute, not when a cap fills (issue 21)."""


class LegState(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    BRIDGED = "bridged"
    HELD = "held"
    ENDED = "ended"


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class LegRecord:
    uuid: str
    direction: str
    channel_name: str
    ani: str
    dnis: str
    state: LegState
    created_at: datetime
    answered_at: datetime | None = None
    bridged_at: datetime | None = None
    hungup_at: datetime | None = None
    hangup_cause: str = ""
    other_leg_uuid: str = ""
    held: bool = False


@dataclass(frozen=True, slots=True)
class CallRecord:
    """An immutable view of one call and its legs, as persisted and published."""

    switch: str
    call_uuid: str
    direction: CallDirection
    ani: str
    caller_name: str
    dnis: str
    state: LegState
    created_at: datetime
    answered_at: datetime | None
    bridged_at: datetime | None
    ended_at: datetime | None
    hangup_cause: str
    queue: str
    legs: tuple[LegRecord, ...]
    agent: str = ""
    routing: dict[str, Any] | None = None
    ivr: dict[str, Any] | None = None  # what the IVR gathered (IVR-6)
    survey: dict[str, Any] | None = None  # a flow after the agent: {"flow", "answers"} (AG-7)

    @property
    def ended(self) -> bool:
        return self.state is LegState.ENDED


@dataclass(slots=True)
class _Call:
    switch: str
    call_uuid: str
    direction: CallDirection
    ani: str
    caller_name: str
    dnis: str
    created_at: datetime
    answered_at: datetime | None = None
    bridged_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_cause: str = ""
    queue: str = ""
    agent: str = ""
    routing: dict[str, Any] | None = None
    ivr: dict[str, Any] | None = None
    survey: dict[str, Any] | None = None
    legs: dict[str, LegRecord] = field(default_factory=dict)

    def state(self) -> LegState:
        live = [leg for leg in self.legs.values() if leg.state is not LegState.ENDED]
        if not live:
            return LegState.ENDED
        if any(leg.held for leg in live):
            return LegState.HELD
        if any(leg.state is LegState.BRIDGED for leg in live):
            return LegState.BRIDGED
        if self.answered_at is not None:
            return LegState.ANSWERED
        return LegState.RINGING

    def record(self) -> CallRecord:
        return CallRecord(
            switch=self.switch,
            call_uuid=self.call_uuid,
            direction=self.direction,
            ani=self.ani,
            caller_name=self.caller_name,
            dnis=self.dnis,
            state=self.state(),
            created_at=self.created_at,
            answered_at=self.answered_at,
            bridged_at=self.bridged_at,
            ended_at=self.ended_at,
            hangup_cause=self.hangup_cause,
            queue=self.queue,
            legs=tuple(self.legs.values()),
            agent=self.agent,
            routing=self.routing,
            ivr=self.ivr,
            survey=self.survey,
        )


def call_direction(leg_direction: str, context: str) -> CallDirection:
    """A call's direction from its first leg: calls from our own phones land in `default`."""
    if leg_direction == "outbound":
        return CallDirection.OUTBOUND
    if context == "default":
        return CallDirection.INTERNAL
    return CallDirection.INBOUND


class LiveCalls:
    """Every live call and leg, keyed by (switch, uuid)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._calls: dict[tuple[str, str], _Call] = {}
        self._leg_to_call: dict[tuple[str, str], str] = {}
        # (switch, uuid) of legs that hung up recently, oldest first (dicts keep order).
        self._tombstones: Recent[tuple[str, str], None] = Recent(
            RECENT_SECONDS, TOMBSTONE_LIMIT, clock
        )
        # Legs icm is originating for an existing call: (switch, uuid) -> call uuid.
        self._expected: Recent[tuple[str, str], str] = Recent(
            RECENT_SECONDS, TOMBSTONE_LIMIT, clock
        )
        # calls that ended lately: a leg icm placed for one (an agent's phone rung for a
        # caller who just hung up) still belongs to it when it shows up late
        self._ended: Recent[tuple[str, str], _Call] = Recent(RECENT_SECONDS, ENDED_KEPT, clock)
        # Per switch: legs created since the pending resync was requested (None: none pending).
        self._created_since_resync: dict[str, set[str]] = {}

    # --- queries -------------------------------------------------------------------------
    def calls(self, switch: str | None = None) -> list[CallRecord]:
        return [c.record() for (sw, _), c in self._calls.items() if switch in (None, sw)]

    def call(self, switch: str, call_uuid: str) -> CallRecord | None:
        call = self._calls.get((switch, call_uuid))
        return call.record() if call else None

    def call_of_leg(self, switch: str, uuid: str) -> CallRecord | None:
        call_uuid = self._leg_to_call.get((switch, uuid))
        return self.call(switch, call_uuid) if call_uuid else None

    def __len__(self) -> int:
        return len(self._calls)

    def leg_count(self) -> int:
        return len(self._leg_to_call)

    # --- seeding from the database after a restart ----------------------------------------
    def seed(self, records: list[CallRecord]) -> None:
        """Load calls persisted as live (icm restarted); a resync then reconciles them."""
        for rec in records:
            call = _Call(
                switch=rec.switch,
                call_uuid=rec.call_uuid,
                direction=rec.direction,
                ani=rec.ani,
                caller_name=rec.caller_name,
                dnis=rec.dnis,
                created_at=rec.created_at,
                answered_at=rec.answered_at,
                bridged_at=rec.bridged_at,
                queue=rec.queue,
                agent=rec.agent,
            )
            for leg in rec.legs:
                call.legs[leg.uuid] = leg
                if leg.state is not LegState.ENDED:
                    self._leg_to_call[(rec.switch, leg.uuid)] = rec.call_uuid
            self._calls[(rec.switch, rec.call_uuid)] = call

    # --- transitions ---------------------------------------------------------------------
    def apply(self, event: ev.DomainEvent) -> list[CallRecord]:
        """Apply one domain event; return the records of the calls it changed."""
        match event:
            case ev.LegCreated():
                return self._leg_created(event)
            case ev.LegAnswered():
                return self._update_leg(event.switch, event.uuid, self._answer, event.at)
            case ev.LegBridged():
                changed = self._update_leg(event.switch, event.uuid, self._bridge, event)
                changed += self._update_leg(
                    event.switch,
                    event.other_leg_uuid,
                    self._bridge,
                    ev.LegBridged(event.switch, event.other_leg_uuid, event.uuid, event.at),
                )
                return _unique(changed)
            case ev.LegUnbridged():
                # FreeSWITCH reports the unbridge on one leg only: free both.
                changed = self._update_leg(event.switch, event.uuid, self._unbridge, event.at)
                if event.other_leg_uuid:
                    changed += self._update_leg(
                        event.switch, event.other_leg_uuid, self._unbridge, event.at
                    )
                return _unique(changed)
            case ev.LegRenamed():
                return self._rename(event)
            case ev.LegExpected():
                self._expected.put((event.switch, event.uuid), event.call_uuid)
                return []
            case ev.ResyncStarted():
                self._created_since_resync[event.switch] = set()
                return []
            case ev.LegHeld():
                return self._update_leg(event.switch, event.uuid, self._hold, True)
            case ev.LegUnheld():
                return self._update_leg(event.switch, event.uuid, self._hold, False)
            case ev.LegHungUp():
                return self._hang_up(event.switch, event.uuid, event.cause, event.at)
            case ev.CallQueued():
                call = self._calls.get((event.switch, event.call_uuid))
                if call is None:
                    return []
                call.queue = event.queue
                if event.data is not None:
                    call.ivr = dict(event.data)
                return [call.record()]
            case ev.CallSurveyed():
                call = self._calls.get((event.switch, event.call_uuid))
                if call is None:
                    return []
                call.survey = {"flow": event.flow, "answers": dict(event.answers)}
                return [call.record()]
            case ev.CallAssigned():
                call = self._calls.get((event.switch, event.call_uuid))
                if call is None:
                    return []
                call.agent, call.routing = event.agent, dict(event.routing)
                return [call.record()]
            case ev.SwitchResynced():
                return self._resync(event)
            case ev.SwitchConnectionChanged():
                return []
        raise TypeError(f"unknown domain event {event!r}")

    def _leg_created(self, event: ev.LegCreated) -> list[CallRecord]:
        key = (event.switch, event.uuid)
        if key in self._leg_to_call or key in self._tombstones:
            return []  # duplicate, or a leg that already hung up (stale resync row)
        pending = self._created_since_resync.get(event.switch)
        if pending is not None:
            pending.add(event.uuid)
        expected = self._expected.pop(key, "")
        if expected and (event.switch, expected) not in self._calls:
            ended = self._ended.pop((event.switch, expected), None)
            if ended is None:
                expected = ""  # that call is long over: the leg stands alone
            else:
                ended.ended_at = None  # up again until this late leg ends too
                self._calls[(event.switch, expected)] = ended
                log.info("call %s: late leg %s joins it", expected, event.uuid)
        call_uuid = (
            expected
            or self._leg_to_call.get((event.switch, event.other_leg_uuid))
            or event.call_uuid
            or event.uuid
        )
        call = self._calls.get((event.switch, call_uuid))
        if call is None:
            call = _Call(
                switch=event.switch,
                call_uuid=call_uuid,
                direction=call_direction(event.direction, event.context),
                ani=event.ani,
                caller_name=event.caller_name,
                dnis=event.dnis,
                created_at=event.at,
            )
            self._calls[(event.switch, call_uuid)] = call
            log.info(
                "call %s created on %s: %s -> %s", call_uuid, event.switch, event.ani, event.dnis
            )
        call.legs[event.uuid] = LegRecord(
            uuid=event.uuid,
            direction=event.direction,
            channel_name=event.channel_name,
            ani=event.ani,
            dnis=event.dnis,
            state=LegState.RINGING,
            created_at=event.at,
            other_leg_uuid=event.other_leg_uuid,
        )
        self._leg_to_call[key] = call_uuid
        return [call.record()]

    def _update_leg(
        self, switch: str, uuid: str, change: Callable[[_Call, LegRecord, Any], LegRecord], arg: Any
    ) -> list[CallRecord]:
        call_uuid = self._leg_to_call.get((switch, uuid))
        if call_uuid is None:
            return []
        call = self._calls[(switch, call_uuid)]
        leg = call.legs[uuid]
        call.legs[uuid] = change(call, leg, arg)
        return [call.record()]

    @staticmethod
    def _answer(call: _Call, leg: LegRecord, at: datetime) -> LegRecord:
        if call.answered_at is None:
            call.answered_at = at
        if leg.answered_at is not None:
            return leg
        state = LegState.ANSWERED if leg.state is LegState.RINGING else leg.state
        return replace(leg, answered_at=at, state=state)

    @staticmethod
    def _bridge(call: _Call, leg: LegRecord, event: ev.LegBridged) -> LegRecord:
        if call.bridged_at is None:
            call.bridged_at = event.at
        if call.answered_at is None:
            call.answered_at = event.at
        return replace(
            leg,
            state=LegState.BRIDGED,
            other_leg_uuid=event.other_leg_uuid,
            bridged_at=leg.bridged_at or event.at,
            answered_at=leg.answered_at or event.at,
        )

    @staticmethod
    def _unbridge(call: _Call, leg: LegRecord, at: datetime) -> LegRecord:
        state = LegState.ANSWERED if leg.state is LegState.BRIDGED else leg.state
        return replace(leg, state=state)

    def _rename(self, event: ev.LegRenamed) -> list[CallRecord]:
        call_uuid = self._leg_to_call.pop((event.switch, event.old_uuid), None)
        if call_uuid is None:
            return []
        call = self._calls[(event.switch, call_uuid)]
        leg = call.legs.pop(event.old_uuid)
        call.legs[event.uuid] = replace(leg, uuid=event.uuid)
        self._leg_to_call[(event.switch, event.uuid)] = call_uuid
        for uuid, other in list(call.legs.items()):
            if other.other_leg_uuid == event.old_uuid:
                call.legs[uuid] = replace(other, other_leg_uuid=event.uuid)
        return [call.record()]

    @staticmethod
    def _hold(call: _Call, leg: LegRecord, held: bool) -> LegRecord:
        return replace(leg, held=held)

    def _hang_up(self, switch: str, uuid: str, cause: str, at: datetime) -> list[CallRecord]:
        call_uuid = self._leg_to_call.pop((switch, uuid), None)
        if call_uuid is None:
            return []
        self._tombstones.put((switch, uuid), None)
        call = self._calls[(switch, call_uuid)]
        leg = call.legs[uuid]
        call.legs[uuid] = replace(
            leg, state=LegState.ENDED, hungup_at=at, hangup_cause=cause, held=False
        )
        if uuid == call_uuid or not call.hangup_cause:
            call.hangup_cause = cause
        if all(leg.state is LegState.ENDED for leg in call.legs.values()):
            call.ended_at = at
            del self._calls[(switch, call_uuid)]
            self._ended.put((switch, call_uuid), call)
            log.info("call %s ended on %s: %s", call_uuid, switch, call.hangup_cause)
        return [call.record()]

    def _resync(self, event: ev.SwitchResynced) -> list[CallRecord]:
        """Reconcile with the switch's channel list.

        FreeSWITCH's channel table lags its event stream: a leg created just before the
        snapshot may be missing from it (kept: its events are newer than the snapshot), and a
        leg that already hung up may still be listed (ignored: it has a tombstone).
        """
        changed: list[CallRecord] = []
        recent = self._created_since_resync.pop(event.switch, set())
        on_switch = {
            leg.uuid: leg for leg in event.legs if (event.switch, leg.uuid) not in self._tombstones
        }
        for (switch, uuid), _ in list(self._leg_to_call.items()):
            if switch == event.switch and uuid not in on_switch and uuid not in recent:
                changed += self._hang_up(switch, uuid, RESYNC_HANGUP_CAUSE, event.at)
        for snap in on_switch.values():
            changed += self._leg_created(
                ev.LegCreated(
                    switch=event.switch,
                    uuid=snap.uuid,
                    call_uuid=snap.call_uuid,
                    direction=snap.direction,
                    channel_name=snap.channel_name,
                    ani=snap.ani,
                    caller_name=snap.caller_name,
                    dnis=snap.dnis,
                    context=snap.context,
                    at=snap.created_at,
                    other_leg_uuid=snap.other_leg_uuid,
                )
            )
            if snap.uuid in recent:
                continue  # its own events are newer than this snapshot
            if snap.answered:
                changed += self._update_leg(event.switch, snap.uuid, self._answer, snap.created_at)
            if snap.other_leg_uuid and snap.other_leg_uuid in on_switch:
                bridged = ev.LegBridged(event.switch, snap.uuid, snap.other_leg_uuid, event.at)
                changed += self._update_leg(event.switch, snap.uuid, self._bridge_if_new, bridged)
            else:
                changed += self._update_leg(event.switch, snap.uuid, self._unbridge, event.at)
            changed += self._update_leg(event.switch, snap.uuid, self._hold, snap.held)
        return _unique(changed)

    @classmethod
    def _bridge_if_new(cls, call: _Call, leg: LegRecord, event: ev.LegBridged) -> LegRecord:
        if leg.state is LegState.BRIDGED:
            return leg
        return cls._bridge(call, leg, event)


def _unique(records: list[CallRecord]) -> list[CallRecord]:
    """Keep the last record of each call, in first-seen order."""
    latest: dict[tuple[str, str], CallRecord] = {}
    for rec in records:
        latest[(rec.switch, rec.call_uuid)] = rec
    return list(latest.values())
