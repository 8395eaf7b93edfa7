"""An agent's own call, controlled from the desktop (AG-4…AG-10): accept the ringing offer,
hold / resume the customer, hang up, send DTMF, transfer (blind here; consultative and
conference steps in icm.daemon.consults.consultations, whose switch commands run here, in order).

The desktop never names a channel: icm finds the agent's legs itself (the offer ringing its
phone, the call it is on), so an agent can only ever act on its own call. Runs in a command
greenlet; it reads the ACD and the live model (gevent switches only at I/O) and talks to the
switch with `api`, so a refusal comes back to the agent at once.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import gevent

from icm.bus.commands import CommandError
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.consults.consultations import (
    MUSIC,
    REQUEUE,
    RING_SECONDS,
    RINGBACK,
    ConsultRequest,
    Consults,
)
from icm.daemon.switch import CommandRefused
from icm.domain import commands as cmd
from icm.domain.calls import LegState, LiveCalls

log = logging.getLogger(__name__)
ACTIONS = (
    "accept",
    "hold",
    "unhold",
    "mute",
    "unmute",
    "hangup",
    "dtmf",
    "transfer",
    "dial",
    "consult",
    "consult_cancel",
    "consult_complete",
    "conference",
)
TRANSFER_KINDS = ("queue", "agent", "extension", "number")
CONSULT_KINDS = ("agent", "extension", "number")
STEP_TIMEOUT = 10.0


class AgentCallControl:
    def __init__(
        self,
        switch: str,
        acd: AcdRuntime,
        model: LiveCalls,
        api: Callable[[cmd.SwitchCommand], str],
        bgapi: Callable[[cmd.SwitchCommand], str] | None = None,
        consults: Consults | None = None,
        post: Callable[[object], None] | None = None,
        direct_ringing_leg: Callable[[str], str] = lambda agent_id: "",
    ) -> None:
        self.switch = switch
        self.acd = acd
        self.model = model
        self.api = api
        self.bgapi = bgapi
        self.consults = consults
        self.post = post
        self.direct_ringing_leg = direct_ringing_leg  # a consultation or call-back ringing

    def run(self, args: dict[str, Any]) -> dict[str, Any]:
        agent_id = str(args.get("agent", ""))
        action = str(args.get("action", ""))
        if action not in ACTIONS:
            raise CommandError(f"unknown call action {action!r} (one of {list(ACTIONS)})")
        if self.acd.agent(agent_id) is None:
            raise CommandError(f"unknown agent {agent_id!r}")
        if action == "accept":
            return self._accept(agent_id)
        if action == "dial":
            return self._dial(agent_id, args)
        if action in ("consult_cancel", "consult_complete", "conference"):
            return self._consult_step(agent_id, action.removeprefix("consult_"))
        consult = self.consults.of(agent_id) if self.consults else None
        agent_leg, other = self.call_legs(agent_id)
        if action == "consult":
            return self._consult(agent_id, agent_leg, other, args)
        if consult is not None and action in ("transfer", "hold", "unhold"):
            raise CommandError("finish the consultation first (complete, conference or cancel)")
        if consult is not None and action == "hangup":
            return self._hang_up_in_consult(agent_id, agent_leg)
        if action == "transfer":
            return self._transfer(agent_id, agent_leg, other, args)
        if action in ("mute", "unmute"):
            # what the agent's phone sends is silenced: nobody hears the agent (AG-6)
            self.api(cmd.MuteLeg(agent_leg, action == "mute"))
            log.info("agent %s: %s (leg %s)", agent_id, action, agent_leg)
            return {"agent": agent_id, "action": action, "leg": agent_leg}
        if action in ("hold", "unhold"):
            # FreeSWITCH holds the named channel and plays music to its partner: holding
            # the agent's leg is what puts the customer on music
            self.api(cmd.HoldLeg(agent_leg, action == "hold"))
            log.info("agent %s: %s (leg %s; %s hears music)", agent_id, action, agent_leg, other)
        elif action == "hangup":
            for leg in (agent_leg, other):
                try:
                    self.api(cmd.HangupLeg(leg, "NORMAL_CLEARING"))
                except CommandError as exc:
                    if "No such channel" not in str(exc):  # one kill often ends both legs
                        raise
            log.info("agent %s: hung up its call (legs %s, %s)", agent_id, agent_leg, other)
        else:
            digits = str(args.get("digits", ""))
            if not re.fullmatch(r"[0-9*#A-D]{1,32}", digits):
                raise CommandError("DTMF digits are 0-9, *, # and A-D")
            self.api(cmd.SendDtmf(other, digits))
        return {"agent": agent_id, "action": action, "leg": agent_leg}

    def _transfer(
        self, agent_id: str, agent_leg: str, customer: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """Blind transfer (AG-9, AG-13): to a queue (the ACD picks the agent; the note and the
        caller's data follow in the screen pop), an agent (a ready one: its phone rings, it
        owns the customer once it answers), an extension, or a number through the trunk
        the web chose (its gateway and the company's caller ID). The agent's own leg then
        hangs up: it goes to wrap-up. Refused (the call stays with the agent) when the
        target cannot take it."""
        kind, target = str(args.get("kind", "")), str(args.get("target", "")).strip()
        note = str(args.get("note", ""))[:1000]
        if kind not in TRANSFER_KINDS:
            raise CommandError(f"transfer to what? one of {list(TRANSFER_KINDS)}")
        if kind == "queue" and not self.acd.has_queue(target):
            raise CommandError(f"there is no queue {target!r}")
        if kind == "agent":
            return self._transfer_to_agent(agent_id, agent_leg, customer, target, note)
        if not re.fullmatch(r"\+?[0-9]{2,20}", target) and kind != "queue":
            raise CommandError(f"{target!r} is not a number")
        gateway = str(args.get("gateway", ""))
        if kind == "number" and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", gateway):
            raise CommandError("no trunk to reach that number")
        data = {"from": agent_id, "note": note, "kind": kind, "target": target}
        encoded = base64.b64encode(json.dumps(data).encode()).decode()
        self.api(cmd.SetLegVariable(customer, "ipbx_transfer", encoded))
        # handed on: the switch hangs the customer up when the new party does (an after-call
        # flow runs only after its own agent; a queue's session sets it again, AG-7)
        self.api(cmd.SetLegVariable(customer, "park_after_bridge", "false"))
        if kind == "queue":
            self.api(cmd.SetLegVariable(customer, "ipbx_transfer_queue", target))
            self.api(cmd.TransferLeg(customer, REQUEUE.destination, REQUEUE.context))
        elif kind == "number":
            caller_id = cmd.plain_number(str(args.get("caller_id", "")))
            shown = (("origination_caller_id_number", caller_id),) if caller_id else ()
            outside = cmd.Bridge(f"sofia/gateway/{gateway}/{target}", shown)
            self.api(cmd.TransferInline(customer, (outside,)))
        else:
            self.api(cmd.TransferLeg(customer, target))
        self._kill(agent_leg)
        log.info("agent %s: transferred %s to %s %s", agent_id, customer, kind, target)
        return {"agent": agent_id, "action": "transfer", "kind": kind, "target": target}

    def _transfer_to_agent(
        self, agent_id: str, agent_leg: str, customer: str, target: str, note: str
    ) -> dict[str, Any]:
        """A consultation completed before the colleague answers: it is reserved and its
        phone rings while the customer hears music; the agent's leg hangs up at once (its
        wrap-up starts); the colleague owns the customer when it answers (its queue's
        call), else the customer goes back to its queue."""
        found = self.acd.agent(target)
        if found is None or not self.acd.extensions.get(target):
            raise CommandError(f"agent {target!r} is unknown or has no phone")
        if target == agent_id:
            raise CommandError("you cannot transfer a call to yourself")
        if str(found.state) != "ready" or self.acd.agent_leg.get(target):
            shown = str(found.state).replace("_", " ")
            raise CommandError(f"agent {target} is {shown}: it cannot take a transfer now")
        args = {"kind": "agent", "target": target, "note": note, "blind": True}
        self._consult(agent_id, agent_leg, customer, args)
        self._consult_step(agent_id, "complete")
        log.info("agent %s: transferred %s to agent %s", agent_id, customer, target)
        return {"agent": agent_id, "action": "transfer", "kind": "agent", "target": target}

    def _dial(self, agent_id: str, args: dict[str, Any]) -> dict[str, Any]:
        """Ring the agent's phone, then connect it to the number (AG-8, AG-23): an extension
        directly, anything else through the trunk. The web checked the dialing rules."""
        number = str(args.get("number", ""))
        gateway = str(args.get("gateway", ""))
        if not re.fullmatch(r"\+?[0-9*#]{2,20}", number):
            raise CommandError(f"{number!r} is not a phone number")
        if gateway and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", gateway):
            raise CommandError("bad gateway name")
        extension = self.acd.extensions.get(agent_id, "")
        if not extension or not re.fullmatch(r"[0-9]{1,16}", extension):
            raise CommandError(f"agent {agent_id} has no phone to call from")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", agent_id):
            raise CommandError(f"agent ID {agent_id!r} cannot be put on a call")
        agent = self.acd.agent(agent_id)
        state = agent.state if agent is not None else None
        busy = self.acd.agent_leg.get(agent_id) or agent_id in self.acd.direct_legs.values()
        if busy or str(state) in ("reserved", "on_call"):
            raise CommandError(f"agent {agent_id} is already on a call")
        leg = str(uuidlib.uuid4())
        caller_id = str(args.get("caller_id", ""))
        shown = (
            (("origination_caller_id_number", caller_id),)
            if re.fullmatch(r"\+?[0-9]{2,20}", caller_id)
            else ()
        )
        # the customer sees the company's number (the trunk's), never their own
        target = f"sofia/gateway/{gateway}/{number}" if gateway else f"user/{number}"
        line = cmd.OriginateCall(
            endpoint=f"user/{extension}",
            uuid=leg,
            caller_id_number=number,
            variables={"ipbx_agent": agent_id},
            then=(cmd.Bridge(target, shown if gateway else ()),),
        )
        if self.bgapi is None:
            raise CommandError("dialing is not available")
        try:
            reply = self.bgapi(line)
        except CommandRefused as exc:
            raise CommandError(str(exc)) from exc
        if not reply.startswith("+OK"):
            raise CommandError(reply.lstrip("-").strip() or "originate refused")
        log.info("agent %s: dialling %s via %s", agent_id, number, target)
        return {"agent": agent_id, "action": "dial", "number": number, "leg": leg}

    def _consult(
        self, agent_id: str, agent_leg: str, customer: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """Ring a colleague, an extension or a number while the customer waits with music
        (AG-9, AG-10): the steps of icm.daemon.consults.consultations' `begin`, in order."""
        kind, target = str(args.get("kind", "")), str(args.get("target", "")).strip()
        if kind not in CONSULT_KINDS:
            raise CommandError(f"consult whom? one of {list(CONSULT_KINDS)}")
        if kind == "agent" and not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", target):
            raise CommandError(f"{target!r} is not an agent ID")
        if kind != "agent" and not re.fullmatch(r"\+?[0-9]{2,20}", target):
            raise CommandError(f"{target!r} is not a number")
        gateway = str(args.get("gateway", ""))
        if kind == "number" and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", gateway):
            raise CommandError("no trunk to reach that number")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", agent_id):
            raise CommandError(f"agent ID {agent_id!r} cannot be put on a call")
        consult = self._ask(
            "begin",
            agent_id,
            {
                "agent_leg": agent_leg,
                "customer": customer,
                "kind": kind,
                "target": target,
                "note": str(args.get("note", ""))[:1000],
                "blind": bool(args.get("blind")),
            },
        )
        caller_id = cmd.plain_number(str(args.get("caller_id", "")))
        # a colleague sees who the customer is; an outside number sees the company's number
        ani = (
            caller_id if kind == "number" and caller_id else cmd.plain_number(self._ani(customer))
        ) or "unknown"
        if kind == "agent":
            endpoint = f"user/{self.acd.extensions[target]}"
        elif kind == "extension":
            endpoint = f"user/{target}"
        else:
            endpoint = f"sofia/gateway/{gateway}/{target}"
        variables = {"originate_timeout": str(RING_SECONDS), "ipbx_consult_by": agent_id}
        if kind == "agent":
            variables["ipbx_agent"] = target
        try:
            # the agent's leg stays up when the customer is parked away (and when the
            # consulted party hangs up); the customer parks by uuid_park itself
            for step in (
                cmd.SetLegVariable(agent_leg, "park_after_bridge", "true"),
                # handed on if the consultation completes: no after-call flow then (AG-7)
                cmd.SetLegVariable(customer, "park_after_bridge", "false"),
                cmd.ParkLeg(customer),
                cmd.BroadcastSound(customer, MUSIC),
                cmd.BroadcastSound(agent_leg, RINGBACK),
            ):
                self.api(step)
            self.acd.send(
                cmd.OriginateCall(
                    endpoint=endpoint,
                    uuid=consult.leg,
                    caller_id_number=ani,
                    variables=variables,
                    then=(cmd.Park(),),
                ),
                leg=consult.leg,
            )
        except CommandError:
            self._ask("abort", agent_id, {})
            try:
                self.api(cmd.SetLegVariable(agent_leg, "park_after_bridge", "false"))
                self.api(cmd.BridgeLegs(agent_leg, customer))
            except CommandError:
                log.warning("agent %s: could not return to the customer %s", agent_id, customer)
            raise
        log.info("agent %s: consulting %s %s (leg %s)", agent_id, kind, target, consult.leg)
        return {
            "agent": agent_id,
            "action": "consult",
            "kind": kind,
            "target": target,
            "leg": consult.leg,
        }

    def _consult_step(self, agent_id: str, step: str) -> dict[str, Any]:
        """complete (the customer goes to the consulted party), conference, cancel."""
        done = self._ask(step, agent_id, {})
        if done.get("then") == "bridge":
            try:
                self.api(cmd.BridgeLegs(done["customer"], done["leg"]))
            except CommandError:
                self._ask("cancel", agent_id, {})  # back to the customer
                raise
            self._ask("handed", agent_id, {})
        if done.get("then") in ("bridge", "hangup"):
            self._kill(done["agent_leg"])
        if step == "conference":
            room = (cmd.JoinConference(done["room"]),)
            self.api(cmd.TransferInline(done["customer"], room))
            self.api(cmd.TransferInline(done["agent_leg"], room, both=True))
        log.info("agent %s: consultation %s", agent_id, step)
        return {"agent": agent_id, "action": f"consult_{step}", "state": done.get("state")}

    def _hang_up_in_consult(self, agent_id: str, agent_leg: str) -> dict[str, Any]:
        """Hang-up while consulting ends the consultation (back to the customer); in a
        conference it leaves the room; a consulted agent hangs up its own leg only."""
        assert self.consults is not None
        consult = self.consults.of(agent_id)
        in_room = consult is not None and consult.state.shown == "conference"
        if consult is not None and consult.agent_id == agent_id and not in_room:
            return self._consult_step(agent_id, "cancel")
        self._kill(agent_leg)
        return {"agent": agent_id, "action": "hangup", "leg": agent_leg}

    def _ask(self, step: str, agent_id: str, args: dict[str, Any]) -> Any:
        if self.consults is None or self.post is None:
            raise CommandError("consultation is not available")
        request = ConsultRequest(step, agent_id, args)
        self.post(request)
        try:
            return request.result.get(timeout=STEP_TIMEOUT)
        except gevent.Timeout as exc:
            if step == "begin":
                self.post(ConsultRequest("abort", agent_id))  # runs after the late begin
            raise CommandError("icm is busy: try again in a moment") from exc

    def _kill(self, leg: str) -> None:
        try:
            self.api(cmd.HangupLeg(leg, "NORMAL_CLEARING"))
        except CommandError as exc:
            if "No such channel" not in str(exc):
                raise

    def _ani(self, leg: str) -> str:
        call = self.model.call_of_leg(self.switch, leg)
        return call.ani if call else ""

    def _accept(self, agent_id: str) -> dict[str, Any]:
        direct_leg = self.direct_ringing_leg(agent_id)
        if direct_leg:
            self.api(cmd.PhoneEvent(direct_leg))
            log.info("agent %s: accepted the direct offer on leg %s", agent_id, direct_leg)
            return {"agent": agent_id, "action": "accept", "leg": direct_leg}
        leg = self.acd.agent_leg.get(agent_id, "")
        if not leg or leg not in self.acd.offers:
            raise CommandError(f"agent {agent_id} has no call ringing")
        # Ask the phone to pick up (SIP NOTIFY talk event, honoured by desk phones and
        # softphones with auto-answer); the ACD bridges the customer when the leg answers.
        self.api(cmd.PhoneEvent(leg))
        log.info("agent %s: accepted the offer on leg %s", agent_id, leg)
        return {"agent": agent_id, "action": "accept", "leg": leg}

    def call_legs(self, agent_id: str) -> tuple[str, str]:
        """(the agent's leg, the other party's leg) of the call the agent is on."""
        consulting = self.consults.legs_of(agent_id) if self.consults else None
        if consulting is not None:
            return consulting
        leg = self.acd.agent_leg.get(agent_id) or next(
            (lg for lg, a in self.acd.direct_legs.items() if a == agent_id), ""
        )
        call = self.model.call_of_leg(self.switch, leg) if leg else None
        if call is None or leg in self.acd.offers:
            raise CommandError(f"agent {agent_id} is not on a call")
        others = [x.uuid for x in call.legs if x.uuid != leg and x.state is not LegState.ENDED]
        if not others:
            raise CommandError(f"agent {agent_id}'s call has no other party")
        bridged = next((x.uuid for x in call.legs if x.other_leg_uuid == leg), None)
        return leg, bridged if bridged in others else others[0]
