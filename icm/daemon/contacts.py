"""The voice adapter's contact events (CTI-2): the ACD's decisions and the agents' legs as
media-independent messages (icm.domain.contacts), dispatched to the features that registered
for them and published on the bus as `contact.<kind>` with their `medium`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from icm.bus import events as bus
from icm.domain import contacts
from icm.domain.acd.agent_fsm import AgentStateChanged
from icm.domain.acd.outputs import ContactFinished, OfferContact
from icm.domain.contacts import ContactEvent, ContactOffered, ContactTracker


@dataclasses.dataclass(frozen=True, slots=True)
class TransferStarted:
    """An agent asks to transfer its contact (posted to the inbox by the command greenlet
    before the switch is asked, so it comes before the agent's leg goes)."""

    agent: str
    target: str  # kind:target ("" when not known)


@dataclasses.dataclass(frozen=True, slots=True)
class TransferFailed:
    """The switch or icm refused the transfer: the agent keeps its contact."""

    agent: str


class VoiceContacts:
    def __init__(
        self,
        dispatch: Callable[[object], None],
        publish: Callable[[bus.EventData], None],
    ) -> None:
        self.tracker = ContactTracker()
        self.dispatch = dispatch  # to the features (synchronously, in the consumer greenlet)
        self.publish = publish  # to the bus (a sequenced event of the switch)

    def offered(self, offer: OfferContact, customer: str, at: float) -> None:
        self._emit(
            [
                ContactOffered(
                    offer.contact_id,
                    str(offer.media),
                    at,
                    offer.queue,
                    tuple(offer.agent_ids),
                    offer.ani,
                    customer,
                    dict(offer.attached),
                )
            ]
        )

    def agent_changed(self, change: AgentStateChanged, medium: str, queue: str) -> None:
        self._emit(
            self.tracker.agent_changed(
                change.agent_id, change.to_state, change.contact_id, change.at, medium, queue
            )
        )

    def held(self, agent_id: str, held: bool, at: float) -> None:
        self._emit(self.tracker.held(agent_id, held, at))

    def transfer_started(self, item: TransferStarted) -> None:
        self.tracker.transfer_started(item.agent, item.target)

    def transfer_failed(self, item: TransferFailed) -> None:
        self.tracker.transfer_failed(item.agent)

    def left_queue(self, done: ContactFinished, at: float) -> None:
        target = f"{done.target_kind}:{done.target}" if done.target_kind else ""
        self._emit(
            self.tracker.left_queue(
                done.contact_id, done.media, done.queue, str(done.outcome), at, target
            )
        )

    def _emit(self, events: list[ContactEvent]) -> None:
        for event in events:
            self.dispatch(event)
            self.publish(bus_data(event))


BUS_EVENT: dict[type, type[bus.EventData]] = {
    contacts.ContactOffered: bus.ContactOffered,
    contacts.ContactAccepted: bus.ContactAccepted,
    contacts.ContactHeld: bus.ContactHeld,
    contacts.ContactTransferred: bus.ContactTransferred,
    contacts.ContactEnded: bus.ContactEnded,
}


def bus_data(event: ContactEvent) -> bus.EventData:
    """The bus event of a contact message: its fields, `contact` for its id."""
    data: dict[str, Any] = dataclasses.asdict(event)
    data["contact"] = data.pop("contact_id")
    if isinstance(event, contacts.ContactOffered):
        data["agents"] = list(event.agents)
        data["media"] = event.medium  # the desktop's screen pop reads `media`
    return BUS_EVENT[type(event)](**data)
