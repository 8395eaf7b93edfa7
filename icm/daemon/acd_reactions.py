"""What the rest of the daemon does when the ACD decides something: an agent's state changed, a
contact is offered (the screen pop), a contact left its queue.

The ACD calls these synchronously inside the consumer greenlet; each fans the decision out, in
this order, to the outbox (agent log and sessions), the day's figures and statistics facts, the
recorder, the bus, and the campaigns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from icm.bus.publisher import StatePublisher
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.agent_view import AgentViews
from icm.daemon.calls.live import LiveCallState
from icm.daemon.campaigns.dialer import CampaignDialer
from icm.daemon.campaigns.messages import PreviewsDue
from icm.daemon.contacts import VoiceContacts
from icm.daemon.outbox import Stream
from icm.daemon.recording.recorder import Recorder
from icm.domain import events as ev
from icm.domain.acd.agent_fsm import AgentStateChanged
from icm.domain.acd.day_figures import DayFigures
from icm.domain.acd.model import AgentState
from icm.domain.acd.outputs import ContactFinished, OfferContact
from icm.domain.acd.sessions import AgentSession, session_of
from icm.domain.facts import FactBuilder


class AcdReactions:
    def __init__(
        self,
        switch: str,
        acd: AcdRuntime,
        calls: LiveCallState,
        day: DayFigures,
        facts: FactBuilder,
        recorder: Recorder,
        campaigns: CampaignDialer,
        views: AgentViews,
        publisher: StatePublisher,
        publish_later: Callable[..., None],
        post: Callable[[object], None],
        agent_changes: Stream[AgentStateChanged],
        agent_sessions: Stream[AgentSession],
        contacts: VoiceContacts,
    ) -> None:
        self.switch = switch
        self.acd = acd
        self.calls = calls
        self.day = day
        self.facts = facts
        self.recorder = recorder
        self.campaigns = campaigns
        self.views = views
        self.publisher = publisher
        self.publish_later = publish_later
        self.post = post
        self.agent_changes = agent_changes
        self.agent_sessions = agent_sessions
        self.contacts = contacts

    def agent_changed(self, change: AgentStateChanged) -> None:
        agent_id = change.agent_id
        self.agent_changes.put(change)
        self.agent_sessions.put(session_of(self.acd.acd, agent_id, self.acd.leg_of(agent_id)))
        queue = ""
        if change.to_state is AgentState.ON_CALL:
            queue = self.acd.queue_of_agent(agent_id)
        self.day.agent_changed(agent_id, str(change.to_state), change.at, queue)
        self.facts.agent_changed(
            agent_id,
            str(change.to_state),
            change.at,
            change.reason,
            queue,
            change.contact_id,
        )
        if change.to_state is AgentState.ON_CALL and change.from_state is not AgentState.ON_CALL:
            leg = self.acd.agent_leg.get(agent_id, "")
            self.recorder.agent_connected(agent_id, leg, self.calls.call_of_leg(leg), queue)
        self.views.publish(agent_id, str(change.to_state), change.reason, change.at)
        if change.to_state is AgentState.LOGGED_OUT:
            self.campaigns.agent_signed_out(agent_id)
        if change.to_state is AgentState.READY and self.campaigns.previews_waiting():
            self.post(PreviewsDue())
        contact = self.acd.contact(change.contact_id) if change.contact_id else None
        medium = str(contact.media) if contact is not None else "voice"
        self.contacts.agent_changed(change, medium, queue)

    def screen_pop(self, offer: OfferContact) -> None:
        self.campaigns.offered(offer.contact_id)
        now = time.time()
        for agent in offer.agent_ids:
            self.facts.queue_event("offered", offer.contact_id, offer.queue, now, agent=agent)
        contact = self.acd.contact(offer.contact_id)
        self.contacts.offered(offer, contact.customer_id if contact is not None else "", now)

    def contact_finished(self, done: ContactFinished, routing: dict[str, Any]) -> None:
        now = time.time()
        self.contacts.left_queue(done, now)
        if str(done.outcome) == "answered":
            self.campaigns.agent_took(done.contact_id, done.agent_id)
        self.day.contact_finished(done.queue, str(done.outcome), done.waited, now)
        call = self.calls.call_of_leg(done.contact_id)
        contact = self.acd.contact(done.contact_id)
        skills = sorted(contact.required_skills) if contact is not None else []
        self.facts.contact_finished(
            done.contact_id,
            done.queue,
            str(done.outcome),
            done.waited,
            now,
            done.agent_id,
            call.call_uuid if call is not None else "",
            skills[0] if skills else "",
            done.media,
            f"{done.target_kind}:{done.target}" if done.target_kind else "",
            self.campaigns.campaign_of(done.contact_id),
        )
        if call is None and done.agent_id:  # a call-back: the caller's first call is over
            call = self.calls.call_of_leg(self.acd.agent_leg.get(done.agent_id, ""))
        if call is None:
            return
        outcome = {
            "outcome": str(done.outcome),
            "waited": round(done.waited, 3),
            "media": done.media,
        }
        if done.target_kind:
            outcome["overflow"] = f"{done.target_kind}:{done.target}"
        assigned = {**routing, **outcome}
        self.calls.apply(
            ev.CallAssigned(
                self.switch, call.call_uuid, done.agent_id, assigned, datetime.now(tz=UTC)
            )
        )

    def contact_arrived(self, item: Any) -> None:
        """A contact entered its queue (after the ACD took it): the statistics fact."""
        contact = item.contact
        call = self.calls.call_of_leg(contact.contact_id)
        self.facts.queue_event(
            "entered",
            contact.contact_id,
            contact.queue,
            contact.enqueued_at,
            call.call_uuid if call is not None else "",
        )
