"""Supervisors on agents' calls (SV-4, SV-8): silent monitor, whisper (coach) and barge-in.

The supervisor's phone is rung and, on answer, runs FreeSWITCH's `eavesdrop` on the agent's
leg (mod_dptools eavesdrop_function / switch_ivr_eavesdrop_session). What the supervisor's
audio reaches is chosen with the eavesdropping channel's variables:
- listen: none set — the supervisor hears agent and customer; nobody hears the supervisor;
- whisper: `eavesdrop_whisper_bleg=true` (ED_MUX_WRITE: mixed into what is written to the
  agent's leg) — only the agent hears the supervisor;
- barge: `eavesdrop_whisper_aleg=true` as well (ED_MUX_READ: mixed into what is read from
  the agent's leg, i.e. what the customer hears) — a three-way call.
DTMF mode switching on the supervisor's phone is off (`eavesdrop_enable_dtmf=false`): the
mode is the one the supervisor chose (and audited).
"""

from __future__ import annotations

import logging
import re
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from icm.bus.commands import CommandError
from icm.domain import commands as cmd
from icm.domain import events as ev

log = logging.getLogger(__name__)
MODES = {
    "listen": {},
    "whisper": {"eavesdrop_whisper_bleg": "true"},
    "barge": {"eavesdrop_whisper_aleg": "true", "eavesdrop_whisper_bleg": "true"},
}
RING_SECONDS = 30


class Monitoring:
    def __init__(
        self,
        switch: str,
        call_legs: Callable[[str], tuple[str, str]],
        call_of_leg: Callable[[str], Any],
        bgapi: Callable[[cmd.SwitchCommand], str],
        post: Callable[[object], None],
    ) -> None:
        self.switch = switch
        self.call_legs = call_legs  # agent -> (its leg, the other party's), or CommandError
        self.call_of_leg = call_of_leg
        self.bgapi = bgapi
        self.post = post

    def run(self, args: dict[str, Any]) -> dict[str, Any]:
        """`monitor {agent, extension, mode}`: ring the supervisor's extension, then
        eavesdrop on the agent's call in that mode."""
        agent_id, mode = str(args.get("agent", "")), str(args.get("mode", ""))
        extension = str(args.get("extension", ""))
        if mode not in MODES:
            raise CommandError(f"monitor how? one of {sorted(MODES)}")
        if not re.fullmatch(r"[0-9]{2,16}", extension):
            raise CommandError("the supervisor needs a phone (an extension) to listen on")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", agent_id):
            raise CommandError(f"agent ID {agent_id!r} cannot be monitored")
        agent_leg, _ = self.call_legs(agent_id)
        call = self.call_of_leg(agent_leg)
        leg = str(uuidlib.uuid4())
        if call is not None:  # the supervisor's leg is shown with the call it listens to
            self.post(ev.LegExpected(self.switch, leg, call.call_uuid))
        variables = {
            "originate_timeout": str(RING_SECONDS),
            "eavesdrop_enable_dtmf": "false",
            "ipbx_monitor": agent_id,
            "ipbx_monitor_mode": mode,
            **MODES[mode],
        }
        reply = self.bgapi(
            cmd.OriginateCall(
                endpoint=f"user/{extension}",
                uuid=leg,
                caller_id_number=agent_id,
                variables=variables,
                then=(cmd.Eavesdrop(agent_leg),),
            )
        )
        if not reply.startswith("+OK"):
            raise CommandError(reply.lstrip("-").strip() or "originate refused")
        log.info(
            "agent %s: %s by extension %s (leg %s on %s)", agent_id, mode, extension, leg, agent_leg
        )
        return {"agent": agent_id, "mode": mode, "leg": leg, "agent_leg": agent_leg}
