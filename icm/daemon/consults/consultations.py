"""Consultative transfer and conference (AG-9, AG-10): an agent on a call rings a colleague,
an extension or a number while the customer waits with music, talks to them, then
completes the transfer, brings everyone into a conference, or returns to the customer.

How it runs on the switch (FreeSWITCH semantics, see docs/agent-desktop.md):
- begin: `park_after_bridge=true` on the customer (C) and the agent's leg (A); `uuid_park C`
  splits them (both stay up, parked); the customer hears music (`uuid_broadcast`), the agent
  a ring-back tone; the consulted party's leg (B) is originated `&park()`.
- B answers → `uuid_bridge A B` (agent and colleague talk). B hangs up, does not answer or
  is cancelled → `uuid_bridge A C` (back to the customer).
- complete → `uuid_bridge C B`, then A hangs up: A wraps up, B (an agent) now owns the
  contact — its queue's wrap-up follows. The agent's phone hanging up while consulting
  completes the transfer too (at once, or when B answers).
- conference → C, A and B move into the room `ipbx-<customer leg>` (mod_conference); any
  agent may leave; the room ends when the customer leaves or no agent is left in it.

Each consultation's state is an icm.domain.consult_state.ConsultState, moved only through
that pure machine's transitions (a step asked at the wrong moment is refused there).
State lives here and is changed only by icm's consumer greenlet (`request`, `on_event`):
the switch commands of one step run in order in the command greenlet that asked
(`AgentCallControl`, blocking `api`); steps that follow switch events are one command each
(bgapi never waits). The ACD keeps the agents' states: the consulted agent is reserved
(a direct offer, so no queue call rings it meanwhile), then on a call.
"""

from __future__ import annotations

import logging
import re
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent.event

from icm.bus.commands import CommandError
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.agent_fsm import IllegalTransition
from icm.domain.calls import LiveCalls
from icm.domain.consult_state import ConsultEvent, ConsultState, allows, next_state

if TYPE_CHECKING:
    from icm.daemon.acd.runtime import AcdRuntime

log = logging.getLogger(__name__)
BUSY_CAUSES = frozenset({"USER_BUSY", "CALL_REJECTED"})
MUSIC = "local_stream://moh"
RINGBACK = "tone_stream://%(2000,4000,440,480);loops=-1"
RING_SECONDS = 30
S, E = ConsultState, ConsultEvent
REQUEUE = cmd.Transfer("ipbx_requeue", "public")  # the public context hands it back to icm


@dataclass(slots=True, eq=False)
class Consult:
    agent_id: str  # who consults
    agent_leg: str
    customer: str  # the customer's leg
    call_uuid: str
    kind: str  # agent | extension | number
    target: str  # agent ID, extension or number
    leg: str  # the consulted party's leg
    note: str = ""
    target_agent: str = ""
    queue: str = ""  # the customer's queue: the consulted agent's wrap-up after a transfer
    state: ConsultState = ConsultState.RINGING  # icm.domain.consult_state
    why: str = ""  # why we ended the consulted leg (reject, cancelled): its offer's outcome
    room: str = ""
    members: set[str] = field(default_factory=set)  # legs in the conference room
    blind: bool = False  # a blind transfer to an agent: completed before it answers
    started: float = field(default_factory=time.time)

    def fire(self, event: ConsultEvent) -> ConsultState:
        """Move on by `event` (IllegalConsultTransition when it cannot happen now)."""
        before, self.state = self.state, next_state(self.state, event)
        if self.state is not before:
            log.debug("consultation %s: %s -[%s]-> %s", self.leg, before, event, self.state)
        return self.state

    def view(self) -> dict[str, Any]:
        return {
            "state": self.state.shown,
            "kind": self.kind,
            "target": self.target,
            "note": self.note,
            "room": self.room,
            "started": self.started,
        }


@dataclass(slots=True)
class ConsultRequest:
    """A desktop's consult step, run by the consumer greenlet; the answer comes back here."""

    action: str  # begin | abort | complete | conference | cancel
    agent_id: str
    args: dict[str, Any] = field(default_factory=dict)
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


class Consults:
    def __init__(
        self,
        switch: str,
        runtime: AcdRuntime,
        model: LiveCalls,
        on_change: Callable[[str], None] = lambda agent_id: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.switch = switch
        self.rt = runtime
        self.model = model
        self.on_change = on_change
        self.clock = clock
        self.by_agent: dict[str, Consult] = {}  # consulting agent -> its consultation
        self.by_target: dict[str, Consult] = {}  # consulted agent -> the consultation
        self.by_leg: dict[str, Consult] = {}  # every leg taking part -> its consultation

    # --- what desktops see ---------------------------------------------------------------
    def view(self, agent_id: str) -> dict[str, Any] | None:
        """The consultation an agent takes part in, as its desktop shows it."""
        mine = self.by_agent.get(agent_id)
        if mine is not None:
            return {**mine.view(), "role": "consulting"}
        theirs = self.by_target.get(agent_id)
        if theirs is not None:
            return {**theirs.view(), "role": "consulted", "by": theirs.agent_id}
        return None

    def offer_card(self, agent_id: str) -> dict[str, Any] | None:
        """The screen pop of a consulted agent: the customer, the note, how it arrived."""
        consult = self.by_target.get(agent_id)
        if consult is None:
            return None
        call = self.model.call_of_leg(self.switch, consult.customer)
        attached = {
            "arrived": "transferred" if consult.blind else "consult",
            "transferred_from": consult.agent_id,
            "transfer_note": consult.note,
            "ivr": dict(call.ivr or {}) if call else {},
        }
        return {
            "contact": consult.customer,
            "queue": consult.queue,
            "ani": call.ani if call else "",
            "customer": "",
            "media": "voice",
            "attached": attached,
            "priority": 0,
        }

    def ringing_leg(self, agent_id: str) -> str:
        consult = self.by_target.get(agent_id)
        return consult.leg if consult is not None and consult.state.shown == "ringing" else ""

    def legs_of(self, agent_id: str) -> tuple[str, str] | None:
        """(the agent's leg, who it talks to) while it takes part in a consultation."""
        consult = self.by_agent.get(agent_id)
        if consult is not None:
            return (
                consult.agent_leg,
                consult.leg if consult.state.shown == "talking" else consult.customer,
            )
        consult = self.by_target.get(agent_id)
        if consult is not None and consult.state.shown != "ringing":
            return consult.leg, consult.agent_leg
        return None

    def legs_to_check(self, older_than: float) -> list[str]:
        """Consulted legs of consultations older than `older_than` s (the reconciler asks
        the switch whether they still exist: a lost hang-up must not leave anyone stuck)."""
        now = self.clock()
        return [
            c.leg
            for c in set(self.by_leg.values())
            if now - c.started > older_than and c.leg in self.by_leg
        ]

    def of(self, agent_id: str) -> Consult | None:
        return self.by_agent.get(agent_id) or self.by_target.get(agent_id)

    # --- steps asked by desktops (consumer greenlet) -------------------------------------
    def request(self, req: ConsultRequest) -> None:
        try:
            match req.action:
                case "begin":
                    req.result.set(self._begin(req.agent_id, req.args))
                case "abort":
                    self._abort(req.agent_id)
                    req.result.set(True)
                case "complete" | "conference" | "cancel":
                    req.result.set(self._step(req.action, req.agent_id))
                case "handed":  # the customer is bridged to the consulted party
                    consult = self.by_agent.get(req.agent_id)
                    if consult is not None and allows(consult.state, E.HANDED):
                        self._hand_over(consult, E.HANDED)
                    req.result.set(True)
                case _:
                    raise CommandError(f"unknown consult step {req.action!r}")
        except CommandError as exc:
            req.result.set_exception(exc)

    def _begin(self, agent_id: str, args: dict[str, Any]) -> Consult:
        if agent_id in self.by_agent or agent_id in self.by_target:
            raise CommandError("you are already in a consultation")
        agent_leg, customer = str(args["agent_leg"]), str(args["customer"])
        call = self.model.call_of_leg(self.switch, customer)
        if call is None:
            raise CommandError("the call is over")
        consult = Consult(
            agent_id,
            agent_leg,
            customer,
            call.call_uuid,
            str(args["kind"]),
            str(args["target"]),
            str(uuidlib.uuid4()),
            str(args.get("note", "")),
            queue=call.queue or "",
            blind=bool(args.get("blind")),
        )
        if consult.kind == "agent":
            target = consult.target
            if target == agent_id:
                raise CommandError("you cannot consult yourself")
            if self.rt.agent(target) is None or not self.rt.extensions.get(target):
                raise CommandError(f"agent {target!r} is unknown or has no phone")
            consult.target_agent = target
            self.by_target[target] = consult  # first: its screen pop is published at once
            try:
                self.rt.offer_direct(target, customer, self.clock(), "consult")
            except IllegalTransition as exc:
                del self.by_target[target]
                raise CommandError(str(exc)) from exc
        self.by_agent[agent_id] = consult
        for leg in (agent_leg, customer, consult.leg):
            self.by_leg[leg] = consult
        self.rt.on_leg_expected(ev.LegExpected(self.switch, consult.leg, call.call_uuid))
        log.info(
            "agent %s: consulting %s %s on leg %s (call %s)",
            agent_id,
            consult.kind,
            consult.target,
            consult.leg,
            call.call_uuid,
        )
        self.on_change(agent_id)
        return consult

    def _abort(self, agent_id: str) -> None:
        """The switch refused a step of `begin`: undo it (the target is freed)."""
        consult = self.by_agent.get(agent_id)
        if consult is None:
            return
        if consult.target_agent:
            self.rt.direct_failed(consult.target_agent, self.clock(), "cancelled")
        consult.fire(E.ABORTED)
        self._forget(consult)

    def _step(self, action: str, agent_id: str) -> dict[str, Any]:
        consult = self.by_agent.get(agent_id)
        if consult is None:
            raise CommandError("you are not consulting anyone")
        if action == "cancel":
            if not allows(consult.state, E.CANCEL):
                raise CommandError("there is no consultation to cancel")
            consult.why = "cancelled"
            self.rt.send(cmd.HangupLeg(consult.leg, "ORIGINATOR_CANCEL"))
            return {"state": consult.state.shown}
        if action == "complete":
            if not allows(consult.state, E.COMPLETE):
                raise CommandError("there is nobody to transfer to yet")
            if consult.state.shown == "ringing":  # the transfer happens when they answer
                consult.fire(E.COMPLETE)
                self._consulting_agent_left(consult)
                return {"state": "ringing", "agent_leg": consult.agent_leg, "then": "hangup"}
            consult.fire(E.COMPLETE)  # the bridge first; the hand-over once it is made
            return {
                "state": "completing",
                "agent_leg": consult.agent_leg,
                "customer": consult.customer,
                "leg": consult.leg,
                "then": "bridge",
            }
        if not allows(consult.state, E.CONFERENCE):
            raise CommandError("a conference needs the consulted party on the line")
        consult.fire(E.CONFERENCE)
        consult.room = f"ipbx-{consult.customer}"
        consult.members = {consult.customer, consult.agent_leg, consult.leg}
        self._changed(consult)
        return {
            "state": "conference",
            "room": consult.room,
            "customer": consult.customer,
            "agent_leg": consult.agent_leg,
        }

    # --- switch events (consumer greenlet) -----------------------------------------------
    def on_event(self, event: ev.DomainEvent) -> bool:
        """Follow a consultation's legs; True when the event was only the consultation's
        (the ACD must not see it)."""
        if not isinstance(event, (ev.LegAnswered, ev.LegHungUp)):
            return False
        consult = self.by_leg.get(event.uuid)
        if consult is None:
            return False
        if isinstance(event, ev.LegAnswered):
            if event.uuid == consult.leg and consult.state.shown == "ringing":
                self._answered(consult)
            return event.uuid == consult.leg
        if event.uuid == consult.leg:
            # once the consulted agent owns the customer (a conference its consulting agent
            # left), the ACD follows its leg as any agent's
            owned = bool(consult.target_agent) and (
                self.rt.leg_agent.get(consult.leg) == consult.target_agent
            )
            self._consulted_left(consult, event.cause, owned)
            return not owned
        if event.uuid == consult.agent_leg:
            self._consulting_agent_left(consult)
        else:
            self._customer_left(consult)
        return False

    def leg_failed(self, leg: str, cause: str) -> bool:
        """A consulted party's originate failed (no phone registered, trunk refused)."""
        consult = self.by_leg.get(leg)
        if consult is None or leg != consult.leg:
            return False
        self._consulted_left(consult, cause)
        return True

    def _answered(self, consult: Consult) -> None:
        if consult.state.customer_gone:
            consult.fire(E.ANSWERED)
            self.rt.send(cmd.HangupLeg(consult.leg, "ORIGINATOR_CANCEL"))
            return
        now = self.clock()
        if consult.target_agent:
            self.rt.direct_answered(consult.target_agent, now)
        if consult.state is S.TRANSFER_ON_ANSWER:
            self.rt.send(cmd.BridgeLegs(consult.customer, consult.leg))
            self._hand_over(consult, E.ANSWERED)
            return
        consult.fire(E.ANSWERED)
        self.rt.send(cmd.BridgeLegs(consult.agent_leg, consult.leg))
        log.info("agent %s: talking to %s %s", consult.agent_id, consult.kind, consult.target)
        self._changed(consult)

    def _consulted_left(self, consult: Consult, cause: str, owned: bool = False) -> None:
        """The consulted party's leg ended (hung up, no answer, rejected, cancelled)."""
        now = self.clock()
        self.by_leg.pop(consult.leg, None)
        before = consult.state
        if consult.target_agent and not owned:
            target = consult.target_agent
            if before.shown == "ringing":
                why = consult.why or ("busy" if cause in BUSY_CAUSES else "no_answer")
                self.rt.direct_failed(target, now, why)
            elif before is not S.DONE:
                self.rt.call_ended(target, now)
            self.by_target.pop(target, None)
            self.on_change(target)
        consult.fire(E.CONSULTED_LEFT)
        if before.shown == "conference":
            consult.members.discard(consult.leg)
            self._room_check(consult)
            return
        if before is S.DONE:
            return
        if before.customer_gone:
            self._forget(consult)
            return
        if before is S.COMPLETING:  # gone as the transfer was made: the customer too
            log.warning(
                "call %s: the consulted party left while the transfer was made", consult.call_uuid
            )
        if before is S.TRANSFER_ON_ANSWER:  # nobody took the customer: back to its queue
            log.warning(
                "call %s: transfer not answered (%s); back to queue %s",
                consult.call_uuid,
                cause,
                consult.queue or "-",
            )
            if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", consult.queue):
                self.rt.send(
                    cmd.TransferInline(
                        consult.customer,
                        (cmd.SetVar("ipbx_transfer_queue", consult.queue), REQUEUE),
                    )
                )
            else:
                self.rt.send(cmd.HangupLeg(consult.customer, "NO_ANSWER"))
        else:
            log.info(
                "agent %s: back with the customer (%s %s: %s)",
                consult.agent_id,
                consult.kind,
                consult.target,
                consult.why or cause,
            )
            self.rt.send(cmd.SetLegVariable(consult.agent_leg, "park_after_bridge", "false"))
            self.rt.send(cmd.BridgeLegs(consult.agent_leg, consult.customer))
        self._forget(consult)

    def _consulting_agent_left(self, consult: Consult) -> None:
        if consult.state.shown == "conference":
            consult.fire(E.CONSULTING_AGENT_LEFT)
            consult.members.discard(consult.agent_leg)
            if not consult.state.customer_gone:
                self._leave_room_to_target(consult)
            self._release_consulting_agent(consult)
            self._room_check(consult)
            return
        if consult.state.customer_gone or not allows(consult.state, E.CONSULTING_AGENT_LEFT):
            return
        if consult.state in (S.TALKING, S.COMPLETING):
            self.rt.send(cmd.BridgeLegs(consult.customer, consult.leg))
            self._hand_over(consult, E.CONSULTING_AGENT_LEFT)
        else:  # still ringing: the customer goes to them when they answer
            consult.fire(E.CONSULTING_AGENT_LEFT)
            self._release_consulting_agent(consult)

    def _release_consulting_agent(self, consult: Consult) -> None:
        """Its part is over while the consultation goes on: its next call is its own."""
        if self.by_agent.get(consult.agent_id) is consult:
            del self.by_agent[consult.agent_id]
            self.on_change(consult.agent_id)

    def _customer_left(self, consult: Consult) -> None:
        if not allows(consult.state, E.CUSTOMER_LEFT):
            return  # over already
        consult.fire(E.CUSTOMER_LEFT)
        consult.why = consult.why or "cancelled"
        if consult.state.shown == "conference":
            consult.members.discard(consult.customer)
            self.rt.send(cmd.ConferenceHangupAll(consult.room))
            if not consult.members:
                consult.fire(E.ROOM_CLOSED)
                self._forget(consult)
            return
        if consult.state.shown in ("ringing", "talking"):
            self.rt.send(cmd.HangupLeg(consult.leg, "ORIGINATOR_CANCEL"))
            self.rt.send(cmd.HangupLeg(consult.agent_leg, "NORMAL_CLEARING"))

    def _room_check(self, consult: Consult) -> None:
        """A member left the room: end it when the customer or every agent is gone."""
        agent_legs = (
            {consult.agent_leg, consult.leg} if consult.target_agent else {consult.agent_leg}
        )
        if consult.customer not in consult.members or not (consult.members & agent_legs):
            log.info("conference %s: no agent or no customer left; ending it", consult.room)
            self.rt.send(cmd.ConferenceHangupAll(consult.room))
        if not consult.members - {consult.customer} or consult.state.customer_gone:
            consult.fire(E.ROOM_CLOSED)
            self._forget(consult)
        else:
            self._changed(consult)

    def _leave_room_to_target(self, consult: Consult) -> None:
        """The consulting agent left the conference: a consulted agent still in it now owns
        the customer (its wrap-up follows), as after a completed transfer."""
        target = consult.target_agent
        if not target or consult.leg not in consult.members:
            return
        rt = self.rt
        rt.agent_leg[target] = consult.leg
        rt.leg_agent[consult.leg] = target
        rt.talking[consult.customer] = target
        rt.take_over(target, consult.queue)

    # --- ownership -----------------------------------------------------------------------
    def _hand_over(self, consult: Consult, event: ConsultEvent) -> None:
        """The customer goes to the consulted party (`event` made it DONE): the consulting
        agent's call ends (its wrap-up starts); a consulted agent now owns the contact as the
        queue's call."""
        rt, now = self.rt, self.clock()
        consult.fire(event)
        agent_id = consult.agent_id
        owned = (rt.leg_agent.pop(consult.agent_leg, None) == agent_id) | (
            rt.direct_legs.pop(consult.agent_leg, None) == agent_id
        )
        if rt.agent_leg.get(agent_id) == consult.agent_leg:
            rt.agent_leg.pop(agent_id, None)
        if rt.talking.get(consult.customer) == agent_id:
            rt.talking.pop(consult.customer, None)
        if owned:  # (not when it hung up earlier: it may be on its next call by now)
            rt.call_ended(agent_id, now)
        if consult.target_agent:
            target = consult.target_agent
            rt.agent_leg[target] = consult.leg
            rt.leg_agent[consult.leg] = target
            rt.talking[consult.customer] = target
            rt.take_over(target, consult.queue)
            self.by_target.pop(target, None)
            self.on_change(target)
        log.info(
            "call %s: transferred by %s to %s %s",
            consult.call_uuid,
            agent_id,
            consult.kind,
            consult.target,
        )
        self._forget(consult)

    def _forget(self, consult: Consult) -> None:
        if self.by_agent.get(consult.agent_id) is consult:
            del self.by_agent[consult.agent_id]
        if consult.target_agent and self.by_target.get(consult.target_agent) is consult:
            del self.by_target[consult.target_agent]
            self.on_change(consult.target_agent)
        for leg in (consult.agent_leg, consult.customer, consult.leg):
            if self.by_leg.get(leg) is consult:
                del self.by_leg[leg]
        self.on_change(consult.agent_id)

    def _changed(self, consult: Consult) -> None:
        self.on_change(consult.agent_id)
        if consult.target_agent:
            self.on_change(consult.target_agent)
