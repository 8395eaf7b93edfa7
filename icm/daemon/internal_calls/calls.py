"""Internal calls between agents (AG-8, AG-18): an agent asks to call a colleague by agent ID;
icm rings the caller's own phone, then — once it answers — the colleague's phone, and bridges
the two when it answers.

Both agents are reserved by a direct offer of the ACD the moment the call is asked (no queue
call rings either meanwhile; either may be ready or not ready, never on a call, ringing or in
wrap-up; a colleague who is not signed in is refused), on a call (an internal one: no wrap-up)
once their phone answers, and back where they were when it ends. Each desktop sees the call
through the agent's view (`internal`) and the screen pop (`offer_card`: who calls whom).

State lives here and changes only in icm's consumer greenlet (`request`, `on_event`,
`leg_failed`); switch commands are one bgapi each (`AcdRuntime.send`), never waited for.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import gevent.event

from icm.bus.commands import CommandError
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.agent_fsm import IllegalTransition
from icm.domain.acd.model import AgentState
from icm.domain.calls import LiveCalls

if TYPE_CHECKING:
    from icm.daemon.acd.runtime import AcdRuntime

log = logging.getLogger(__name__)
RING_SECONDS = 30
RINGBACK = "tone_stream://%(2000,4000,440,480);loops=-1"
BUSY_CAUSES = frozenset({"USER_BUSY", "CALL_REJECTED"})


class Stage(StrEnum):
    CALLING = "calling"  # the caller's own phone rings
    RINGING = "ringing"  # the caller answered; the colleague's phone rings
    TALKING = "talking"  # bridged
    ENDED = "ended"


@dataclass(slots=True, eq=False)
class InternalCall:
    caller: str
    callee: str
    caller_leg: str
    callee_leg: str
    caller_extension: str
    callee_extension: str
    stage: Stage = Stage.CALLING
    answered: set[str] = field(default_factory=set)  # legs that answered
    gone: set[str] = field(default_factory=set)  # legs that ended (or were never placed)
    why: str = ""  # why it ended before the colleague answered (shown in the logs)
    started: float = field(default_factory=time.time)

    @property
    def legs(self) -> tuple[str, str]:
        return self.caller_leg, self.callee_leg

    def view(self, agent_id: str) -> dict[str, Any]:
        caller = agent_id == self.caller
        return {
            "role": "caller" if caller else "callee",
            "peer": self.callee if caller else self.caller,
            "peer_extension": self.callee_extension if caller else self.caller_extension,
            "state": self.stage.value,
            "started": self.started,
        }


@dataclass(slots=True)
class InternalCallRequest:
    """A desktop's "call agent …" (or its reject), run by the consumer greenlet."""

    action: str  # call | reject
    agent_id: str
    args: dict[str, Any] = field(default_factory=dict)
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


class InternalCalls:
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
        self.by_agent: dict[str, InternalCall] = {}  # caller and callee -> their call
        self.by_leg: dict[str, InternalCall] = {}

    # --- what desktops see ---------------------------------------------------------------
    def view(self, agent_id: str) -> dict[str, Any] | None:
        call = self.by_agent.get(agent_id)
        return call.view(agent_id) if call is not None else None

    def offer_card(self, agent_id: str) -> dict[str, Any] | None:
        """The screen pop: the colleague who calls (the callee's), or whom one calls."""
        call = self.by_agent.get(agent_id)
        if call is None:
            return None
        caller = agent_id == call.caller
        attached: dict[str, Any] = {"arrived": "internal"}
        if caller:
            attached["internal_to"] = call.callee
        else:
            attached["transferred_from"] = call.caller  # the desktop shows the caller's name
        return {
            "contact": call.caller_leg,
            "queue": "",
            "ani": call.callee_extension if caller else call.caller_extension,
            "customer": "",
            "media": "internal",
            "attached": attached,
            "priority": 0,
        }

    def ringing_leg(self, agent_id: str) -> str:
        call = self.by_agent.get(agent_id)
        if call is None:
            return ""
        if agent_id == call.caller and call.stage is Stage.CALLING:
            return call.caller_leg
        if agent_id == call.callee and call.stage is Stage.RINGING:
            return call.callee_leg
        return ""

    def legs_to_check(self, older_than: float) -> list[str]:
        now = self.clock()
        return [
            leg
            for call in set(self.by_leg.values())
            if now - call.started > older_than
            for leg in call.legs
            if leg not in call.gone
        ]

    # --- requests (consumer greenlet) ----------------------------------------------------
    def request(self, req: InternalCallRequest) -> None:
        try:
            if req.action == "call":
                req.result.set(self._call(req.agent_id, str(req.args.get("target", ""))))
            elif req.action == "reject":
                req.result.set(self.reject(req.agent_id))
            else:
                raise CommandError(f"unknown internal call step {req.action!r}")
        except CommandError as exc:
            req.result.set_exception(exc)

    def _call(self, agent_id: str, target: str) -> dict[str, Any]:
        rt = self.rt
        if target == agent_id:
            raise CommandError("you cannot call yourself")
        callee = rt.agent(target)
        if callee is None:
            raise CommandError(f"there is no agent {target!r}")
        callee_ext, caller_ext = rt.extensions.get(target, ""), rt.extensions.get(agent_id, "")
        if not caller_ext:
            raise CommandError("you have no phone to call from")
        if not callee_ext:
            raise CommandError(f"agent {target} has no phone")
        if callee.state is AgentState.LOGGED_OUT:
            raise CommandError(f"agent {target} is not signed in")
        if callee.state not in (AgentState.READY, AgentState.NOT_READY) or target in self.by_agent:
            raise CommandError(f"agent {target} is busy ({_shown(callee.state)})")
        caller = rt.agent(agent_id)
        if caller is None or caller.state is AgentState.LOGGED_OUT:
            raise CommandError("sign in first")
        if (
            caller.state not in (AgentState.READY, AgentState.NOT_READY)
            or agent_id in self.by_agent
        ):
            busy = "being offered a call" if caller.state is AgentState.RESERVED else None
            raise CommandError(f"you are {busy or _shown(caller.state)}: finish that first")
        call = InternalCall(
            agent_id, target, str(uuidlib.uuid4()), str(uuidlib.uuid4()), caller_ext, callee_ext
        )
        now = self.clock()
        # both are reserved first: their screen pops are published with the state change
        self.by_agent[agent_id] = self.by_agent[target] = call
        try:
            rt.offer_direct(target, call.caller_leg, now, "internal call")
            try:
                rt.offer_direct(agent_id, call.caller_leg, now, "internal call")
            except IllegalTransition:
                rt.direct_failed(target, now, "cancelled")
                raise
        except IllegalTransition as exc:
            del self.by_agent[agent_id], self.by_agent[target]
            raise CommandError(str(exc)) from exc
        for leg in call.legs:
            self.by_leg[leg] = call
        rt.send(
            cmd.OriginateCall(
                endpoint=f"user/{caller_ext}",
                uuid=call.caller_leg,
                caller_id_number=callee_ext,
                caller_id_name=target,
                variables={
                    "originate_timeout": str(RING_SECONDS),
                    "ipbx_agent": agent_id,
                    "ipbx_internal_to": target,
                },
                then=(cmd.Park(),),
            ),
            leg=call.caller_leg,
        )
        log.info("agent %s: internal call to %s (leg %s)", agent_id, target, call.caller_leg)
        return {"agent": agent_id, "action": "call_agent", "target": target, "leg": call.caller_leg}

    def reject(self, agent_id: str) -> dict[str, Any]:
        """The agent refuses the internal call ringing its phone (or not yet: it is ringing
        the caller's): the call ends; the caller's desktop says so."""
        call = self.by_agent.get(agent_id)
        if call is None or call.stage not in (Stage.CALLING, Stage.RINGING):
            raise CommandError(f"agent {agent_id} has no call ringing")
        call.why = "rejected" if agent_id == call.callee else "cancelled"
        for leg in call.legs:
            if leg not in call.gone and (leg == call.caller_leg or call.stage is Stage.RINGING):
                self.rt.send(cmd.HangupLeg(leg, "CALL_REJECTED"))
        return {"agent": agent_id, "state": "reserved"}

    # --- switch events (consumer greenlet) -----------------------------------------------
    def on_event(self, event: ev.LegAnswered | ev.LegHungUp) -> bool:
        """Follow the internal calls' legs (True: the event was only ours)."""
        call = self.by_leg.get(event.uuid)
        if call is None:
            return False
        if isinstance(event, ev.LegAnswered):
            self._answered(call, event.uuid)
        else:
            self._gone(call, event.uuid, event.cause)
        return True

    def leg_failed(self, leg: str, cause: str) -> bool:
        call = self.by_leg.get(leg)
        if call is None:
            return False
        self._gone(call, leg, cause)
        return True

    def _answered(self, call: InternalCall, leg: str) -> None:
        if leg in call.answered or call.stage is Stage.ENDED:
            return
        call.answered.add(leg)
        rt, now = self.rt, self.clock()
        if leg == call.caller_leg and call.stage is Stage.CALLING:
            rt.direct_answered(call.caller, now)
            rt.direct_legs[leg] = call.caller
            call.stage = Stage.RINGING
            rt.send(cmd.BroadcastSound(leg, RINGBACK))
            placed = self.model.call_of_leg(self.switch, leg)
            rt.on_leg_expected(
                ev.LegExpected(self.switch, call.callee_leg, placed.call_uuid if placed else leg)
            )
            rt.send(
                cmd.OriginateCall(
                    endpoint=f"user/{call.callee_extension}",
                    uuid=call.callee_leg,
                    caller_id_number=call.caller_extension,
                    caller_id_name=call.caller,
                    variables={
                        "originate_timeout": str(RING_SECONDS),
                        "ipbx_agent": call.callee,
                        "ipbx_internal_from": call.caller,
                    },
                    then=(cmd.Park(),),
                ),
                leg=call.callee_leg,
            )
            log.info("agent %s: ringing %s for an internal call", call.caller, call.callee)
        elif leg == call.callee_leg and call.stage is Stage.RINGING:
            rt.direct_answered(call.callee, now)
            rt.direct_legs[leg] = call.callee
            call.stage = Stage.TALKING
            rt.send(cmd.BridgeLegs(call.caller_leg, leg))
            log.info("agents %s and %s: internal call connected", call.caller, call.callee)
        self._changed(call)

    def _gone(self, call: InternalCall, leg: str, cause: str) -> None:
        """A leg ended (hung up, no answer, busy, refused): the call ends for both."""
        if leg in call.gone:
            return
        call.gone.add(leg)
        self.by_leg.pop(leg, None)
        rt, now = self.rt, self.clock()
        if call.stage is Stage.CALLING:
            call.gone.add(call.callee_leg)  # never placed
            self.by_leg.pop(call.callee_leg, None)
        if call.stage is not Stage.ENDED:
            if not call.why and leg == call.callee_leg and call.stage is Stage.RINGING:
                call.why = "busy" if cause in BUSY_CAUSES else "no_answer"
            call.stage = Stage.ENDED
            log.info(
                "internal call %s -> %s ended (%s%s)",
                call.caller,
                call.callee,
                cause,
                f", {call.why}" if call.why else "",
            )
            for agent_id, own in ((call.caller, call.caller_leg), (call.callee, call.callee_leg)):
                rt.direct_legs.pop(own, None)
                if own in call.answered:
                    rt.call_ended(agent_id, now)
                else:
                    rt.direct_failed(agent_id, now, call.why or "cancelled")
            for other in call.legs:
                if other not in call.gone:
                    rt.send(cmd.HangupLeg(other, "NORMAL_CLEARING"))
            for agent_id in (call.caller, call.callee):
                if self.by_agent.get(agent_id) is call:
                    del self.by_agent[agent_id]
            self._changed(call)

    def _changed(self, call: InternalCall) -> None:
        self.on_change(call.caller)
        self.on_change(call.callee)


def _shown(state: AgentState) -> str:
    return {"reserved": "ringing", "on_call": "on a call", "wrap_up": "in wrap-up"}.get(
        str(state), str(state).replace("_", " ")
    )
