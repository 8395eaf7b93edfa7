"""An agent's own call, controlled from the desktop (AG-4…AG-7): accept the ringing offer,
hold / resume the customer, hang up, send DTMF.

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

from icm.acd_runtime import AcdRuntime
from icm.bus.commands import CommandError
from icm.domain import commands as cmd
from icm.domain.calls import LegState, LiveCalls

log = logging.getLogger(__name__)
ACTIONS = ("accept", "hold", "unhold", "hangup", "dtmf", "transfer", "dial")
TRANSFER_KINDS = ("queue", "agent", "extension", "number")
REQUEUE = "ipbx_requeue XML public"  # the public context hands the caller back to icm


class AgentCallControl:
    def __init__(
        self,
        switch: str,
        acd: AcdRuntime,
        model: LiveCalls,
        api: Callable[[cmd.SwitchCommand | str], str],
        bgapi: Callable[[str], str] | None = None,
    ) -> None:
        self.switch = switch
        self.acd = acd
        self.model = model
        self.api = api
        self.bgapi = bgapi

    def run(self, args: dict[str, Any]) -> dict[str, Any]:
        agent_id = str(args.get("agent", ""))
        action = str(args.get("action", ""))
        if action not in ACTIONS:
            raise CommandError(f"unknown call action {action!r} (one of {list(ACTIONS)})")
        if agent_id not in self.acd.acd.agents:
            raise CommandError(f"unknown agent {agent_id!r}")
        if action == "accept":
            return self._accept(agent_id)
        if action == "dial":
            return self._dial(agent_id, args)
        agent_leg, other = self._call_legs(agent_id)
        if action == "transfer":
            return self._transfer(agent_id, agent_leg, other, args)
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
            self.api(f"uuid_send_dtmf {other} {digits}")
        return {"agent": agent_id, "action": action, "leg": agent_leg}

    def _transfer(
        self, agent_id: str, agent_leg: str, customer: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """Blind transfer (AG-9, AG-13): to a queue (the ACD picks the agent; the note and the
        caller's data follow in the screen pop), an agent's phone, an extension or a number.
        The agent's own leg then hangs up: it goes to wrap-up."""
        kind, target = str(args.get("kind", "")), str(args.get("target", "")).strip()
        note = str(args.get("note", ""))[:1000]
        if kind not in TRANSFER_KINDS:
            raise CommandError(f"transfer to what? one of {list(TRANSFER_KINDS)}")
        if kind == "queue" and target not in self.acd.acd.policies:
            raise CommandError(f"there is no queue {target!r}")
        if kind == "agent":
            target = self.acd.extensions.get(target, "")
            if not target:
                raise CommandError(f"agent {args.get('target')!r} is unknown or has no phone")
        if kind in ("extension", "number") and not re.fullmatch(r"\+?[0-9]{2,20}", target):
            raise CommandError(f"{target!r} is not a number")
        data = {"from": agent_id, "note": note, "kind": kind, "target": str(args.get("target"))}
        encoded = base64.b64encode(json.dumps(data).encode()).decode()
        self.api(f"uuid_setvar {customer} ipbx_transfer {encoded}")
        destination = REQUEUE if kind == "queue" else f"{target} XML default"
        if kind == "queue":
            self.api(f"uuid_setvar {customer} ipbx_transfer_queue {target}")
        self.api(f"uuid_transfer {customer} {destination}")
        try:
            self.api(cmd.HangupLeg(agent_leg, "NORMAL_CLEARING"))
        except CommandError as exc:
            if "No such channel" not in str(exc):
                raise
        log.info("agent %s: transferred %s to %s %s", agent_id, customer, kind, target)
        return {"agent": agent_id, "action": "transfer", "kind": kind, "target": target}

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
        state = self.acd.acd.agents[agent_id].state
        busy = self.acd.agent_leg.get(agent_id) or agent_id in self.acd.direct_legs.values()
        if busy or str(state) in ("reserved", "on_call"):
            raise CommandError(f"agent {agent_id} is already on a call")
        leg = str(uuidlib.uuid4())
        caller_id = str(args.get("caller_id", ""))
        shown = f"{{origination_caller_id_number={caller_id}}}" if re.fullmatch(
            r"\+?[0-9]{2,20}", caller_id) else ""  # fmt: skip
        # the customer sees the company's number (the trunk's), never their own
        target = f"{shown}sofia/gateway/{gateway}/{number}" if gateway else f"user/{number}"
        variables = (
            f"origination_uuid={leg},ipbx_agent={agent_id},origination_caller_id_number={number}"
        )
        line = f"originate {{{variables}}}user/{extension} &bridge({target})"
        if self.bgapi is None:
            raise CommandError("dialing is not available")
        reply = self.bgapi(line)
        if not reply.startswith("+OK"):
            raise CommandError(reply.lstrip("-").strip() or "originate refused")
        log.info("agent %s: dialling %s via %s", agent_id, number, target)
        return {"agent": agent_id, "action": "dial", "number": number, "leg": leg}

    def _accept(self, agent_id: str) -> dict[str, Any]:
        leg = self.acd.agent_leg.get(agent_id, "")
        if not leg or leg not in self.acd.offers:
            raise CommandError(f"agent {agent_id} has no call ringing")
        # Ask the phone to pick up (SIP NOTIFY talk event, honoured by desk phones and
        # softphones with auto-answer); the ACD bridges the customer when the leg answers.
        self.api(f"uuid_phone_event {leg} talk")
        log.info("agent %s: accepted the offer on leg %s", agent_id, leg)
        return {"agent": agent_id, "action": "accept", "leg": leg}

    def _call_legs(self, agent_id: str) -> tuple[str, str]:
        """(the agent's leg, the other party's leg) of the call the agent is on."""
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
