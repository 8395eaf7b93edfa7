"""The ACD's recovery (ICM-3 and reconciliation): after an icm restart agents keep their
sessions and get their calls back at the first resync; an agent's leg the switch no longer has
(a lost event) is repaired. A part of AcdRuntime (mixed in), split out for size.

Callers through an icm crash (issue 21; docs/acd.md "An icm crash"): a caller bridged to its
agent is told to the switch as no longer kept by icm's socket (`bridge_caller`), so the crash
leaves the bridge alone; callers in the IVR or a queue come back through the switch's
dialplan to the new icm, whose queues stay shut (`waiting.gate`) until the first resync has
stopped the phones still ringing for the dead icm's offers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from icm.domain import commands as cmd
from icm.domain.acd.model import AgentState, CallKind
from icm.domain.acd.sessions import AgentSession, restore_sessions

log = logging.getLogger("icm.daemon.acd.runtime")


class RestartRecovery:
    # --- an icm restart (ICM-3): agents keep their sessions and their calls ---------------
    def restore(self, sessions: list[AgentSession]) -> None:
        """Take back the agents the previous icm had signed in (before the first resync)."""
        self._to_link = restore_sessions(self.acd, sessions, self.clock())
        self._ringing_when_stopped = [
            s.leg for s in sessions if s.state is AgentState.RESERVED and s.leg
        ]
        self._first_resync = True
        self.waiting.gate.close()  # no caller reaches a queue before the first resync
        log.info(
            "acd %s: %d agents' sessions restored, %d of them on a call",
            self.switch,
            len(sessions),
            len(self._to_link),
        )

    def link_restored(
        self, live_leg: Callable[[str, str], tuple[str, str] | None], switch_busy: bool = True
    ) -> None:
        """After the first resync: each agent restored on a call gets its leg back (found by
        uuid, else by its extension's channel) and its customer's, so their hang-ups end the
        call as usual; an agent whose call ended while icm was away goes to wrap-up. A phone
        that was ringing with a lost offer is stopped. Then the queues open: after the grace
        for callers coming back through the switch when it has calls (`switch_busy`), else
        at once (nobody can be coming back)."""
        pending, self._to_link = self._to_link, []
        for leg in self._ringing_when_stopped:
            if live_leg(leg, ""):
                log.info("acd %s: leg %s rang for a lost offer: stopped", self.switch, leg)
                self.send(cmd.HangupLeg(leg, "ORIGINATOR_CANCEL"))
        self._ringing_when_stopped = []
        self._first_resync = False
        self.waiting.gate.open(None if switch_busy else 0.0)  # after the hang-ups above
        for session in pending:
            agent_id = session.agent_id
            found = live_leg(session.leg, self.extensions.get(agent_id, ""))
            if found is None:
                log.info(
                    "agent %s: its call (leg %s) ended while icm was away",
                    agent_id,
                    session.leg or "unknown",
                )
                self.apply(self.acd.call_ended(agent_id, self.clock()))
                continue
            leg, partner = found
            if session.queue and session.call_kind is CallKind.INBOUND:
                self.agent_leg[agent_id] = leg
                self.leg_agent[leg] = agent_id
                if partner:
                    self.talking[partner] = agent_id
            else:
                self.direct_legs[leg] = agent_id
            log.info(
                "agent %s: back on its call, leg %s (customer leg %s)",
                agent_id,
                leg,
                partner or "none",
            )

    @property
    def restoring(self) -> bool:
        """Until the first resync after `restore` (an icm start)."""
        pending = self._to_link or self._ringing_when_stopped
        return bool(pending or getattr(self, "_first_resync", False))

    def bridge_caller(self, customer: str, agent_leg: str) -> None:
        """Bridge a caller to its agent. The caller is first no longer kept by the switch
        if icm's socket is lost: FreeSWITCH resets a channel whose socket closes with
        `socket_resume` set (mod_event_socket listener_run), which would end this bridge
        (issue 21). Both commands leave at once, in this order."""
        self.send(cmd.KeepIfServerLost(customer, False))
        self.send(cmd.BridgeLegs(customer, agent_leg))

    # --- reconciliation (item 8: nothing stays stuck "reserved") --------------------------
    def legs_to_check(self, older_than: float) -> list[tuple[str, str]]:
        """(agent, leg) of agents ringing or talking for longer than `older_than` seconds."""
        now = self.clock()
        return [
            (agent_id, leg)
            for agent_id, leg in self.agent_leg.items()
            if agent_id in self.acd.agents
            and now - self.acd.agents[agent_id].state_since > older_than
        ]

    def repair(self, agent_id: str, leg: str) -> None:
        """The switch no longer has `leg`: end the offer or call it belonged to."""
        if self.agent_leg.get(agent_id) != leg:
            return  # moved on meanwhile
        agent = self.acd.agents[agent_id]
        log.warning(
            "acd %s: repaired agent %s stuck %s: leg %s is gone from the switch",
            self.switch,
            agent_id,
            agent.state,
            leg,
        )
        self._leg_gone(leg, "ICM_RECONCILED")
