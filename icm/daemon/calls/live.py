"""The live calls of one switch, as the daemon applies them: the model, and the order in which a
leg's answer, hang-up and a resync reach the features.

`apply` is the only way an event changes the live model; every call it changes is queued for
the bus (live pages) and for the CDR store. A leg's answer and hang-up go to the features in an
order the ACD relies on (see `answered` / `hung_up`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.feature import Features
from icm.daemon.switch import ResyncReady
from icm.domain import events as ev
from icm.domain.calls import RESYNC_HANGUP_CAUSE, CallRecord, LiveCalls

log = logging.getLogger(__name__)


class LiveCallState:
    def __init__(
        self,
        switch: str,
        model: LiveCalls,
        acd: AcdRuntime,
        features: Features,
        held: Callable[[str, bool, float], None],
        changed: Callable[[CallRecord], None],
        resynced: Callable[[list[str], float], None],
    ) -> None:
        self.switch = switch
        self.model = model
        self.acd = acd
        self.features = features
        self.held = held  # (agent, held, at): the statistics fact and the contact event
        self.changed = changed  # a call changed: to the bus and the CDR store
        self.resynced = resynced  # the legs a resync found up, and when (the recorder's)

    def apply(self, event: ev.DomainEvent) -> list[CallRecord]:
        if isinstance(event, ev.LegHeld | ev.LegUnheld):
            agent = self.agent_of_leg(event.uuid)
            if agent:
                self.held(agent, isinstance(event, ev.LegHeld), event.at.timestamp())
        changed = self.model.apply(event)
        for rec in changed:
            self.changed(rec)
        return changed

    def answered(self, event: ev.LegAnswered) -> None:
        """The model first (the agent's call shows answered), then the leg's owner or the ACD,
        then the features that follow every leg (campaigns)."""
        self.apply(event)
        if not self.features.owns_leg_event(event):
            self.acd.on_event(event)
        self.features.follow_leg_event(event)

    def hung_up(self, event: ev.LegHungUp) -> None:
        """The leg's owner or the ACD first (the call is still live to record the outcome),
        then the model, then the features that follow every leg."""
        if not self.features.owns_leg_event(event):
            self.acd.on_event(event)
        self.apply(event)
        self.features.follow_leg_event(event)

    def resync(self, item: ResyncReady) -> None:
        """The switch's legs after a (re)connect: legs that went while icm was away end now
        (agents' calls, campaigns' attempts); a restarted icm links agents to their legs."""
        event = item.event
        log.info("icm %s: resync with %d legs on the switch", self.switch, len(event.legs))
        self.resynced([leg.uuid for leg in event.legs], event.at.timestamp())
        ended = [
            ev.LegHungUp(self.switch, leg.uuid, leg.hangup_cause, event.at)
            for rec in self.apply(event)
            for leg in rec.legs
            if leg.hangup_cause == RESYNC_HANGUP_CAUSE and leg.hungup_at == event.at
        ]
        for gone in ended:
            if not self.features.owns_leg_event(gone):
                self.acd.on_event(gone)
            self.features.follow_leg_event(gone)
        if self.acd.restoring:  # the first resync after a restart: agents' calls
            self.acd.link_restored(self.live_leg, switch_busy=bool(event.legs))

    def live_leg(self, leg: str, extension: str) -> tuple[str, str] | None:
        """(leg, its partner) when `leg` — or else a leg of the phone of `extension` — is up
        on the switch as icm now knows it (after a resync)."""
        mine = phone_leg_pattern(extension) if extension else None
        for call in self.model.calls(self.switch):
            live = [lg for lg in call.legs if lg.hungup_at is None]
            for candidate in live:
                if candidate.uuid == leg or (mine and mine.match(candidate.channel_name)):
                    others = [lg.uuid for lg in live if lg.uuid != candidate.uuid]
                    partner = candidate.other_leg_uuid or (others[0] if others else "")
                    return candidate.uuid, partner
        return None

    def agent_of_leg(self, leg: str) -> str:
        """The agent whose call this leg belongs to (its own leg or its customer's)."""
        call = self.model.call_of_leg(self.switch, leg)
        for agent, agent_leg in self.acd.agent_leg.items():
            if agent_leg == leg:
                return agent
            theirs = self.model.call_of_leg(self.switch, agent_leg) if call is not None else None
            if theirs is not None and call is not None and theirs.call_uuid == call.call_uuid:
                return agent
        return ""

    def leg_channel(self, uuid: str) -> str:
        call = self.model.call_of_leg(self.switch, uuid)
        leg = next((leg for leg in call.legs if leg.uuid == uuid), None) if call else None
        return leg.channel_name if leg else ""

    def party(self, agent_id: str) -> dict[str, str] | None:
        """Who the agent is connected to (or rung for): the other end's number and name."""
        call = self.call_of_leg(self.acd.agent_leg.get(agent_id, ""))
        if call is None:
            return None
        if call.ani and call.ani == self.acd.extensions.get(agent_id):
            return {"number": call.dnis, "name": "", "call": call.call_uuid}
        return {"number": call.ani, "name": call.caller_name, "call": call.call_uuid}

    def call_of_leg(self, leg: str) -> CallRecord | None:
        return self.model.call_of_leg(self.switch, leg) if leg else None


def phone_leg_pattern(extension: str) -> re.Pattern[str]:
    """The channel names of the phone of `extension` (`user/<ext>`, `sofia/internal/<ext>@`)."""
    ext = re.escape(extension)
    return re.compile(rf"^(?:user/{ext}(?:@|$)|sofia/[^/]+/(?:sip:)?{ext}@)")
