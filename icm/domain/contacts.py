"""Contact events (CTI-2): what happens to a customer's contact, whatever its medium.

The daemon's features and the bus see these abstract messages — offered, accepted, held,
transferred, ended — each with its `medium`. Today the voice adapter produces them from the
ACD's decisions and the switch's legs (icm.daemon.contacts); an email, chat, SMS or fax
adapter produces the same messages from its own channel.

`ContactTracker` is the pure rule that turns an agent's state changes and the ACD's
decisions into these messages, remembering which contact each agent is handling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from icm.domain.acd.model import AgentState, Media


@dataclass(frozen=True, slots=True)
class ContactOffered:
    contact_id: str
    medium: str
    at: float
    queue: str
    agents: tuple[str, ...]
    ani: str = ""
    customer: str = ""
    attached: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContactAccepted:
    contact_id: str
    medium: str
    at: float
    agent: str
    queue: str = ""


@dataclass(frozen=True, slots=True)
class ContactHeld:
    contact_id: str
    medium: str
    at: float
    agent: str
    held: bool  # False: taken back off hold


@dataclass(frozen=True, slots=True)
class ContactTransferred:
    contact_id: str
    medium: str
    at: float
    agent: str  # who transferred it ("" for the ACD's overflow)
    target: str = ""  # kind:target when known (queue:sales, agent:ag2, number:5551000)


@dataclass(frozen=True, slots=True)
class ContactEnded:
    contact_id: str
    medium: str
    at: float
    outcome: str  # handled (by an agent) or abandoned
    agent: str = ""
    queue: str = ""


ContactEvent = ContactOffered | ContactAccepted | ContactHeld | ContactTransferred | ContactEnded


@dataclass(slots=True)
class _Handled:
    contact_id: str
    medium: str
    queue: str


class ContactTracker:
    """Which contact each agent handles, and the contact events its state changes mean."""

    def __init__(self) -> None:
        self._by_agent: dict[str, _Handled] = {}
        self._transferring: dict[str, str] = {}  # agent -> where its transfer sends the contact

    def handling(self, agent_id: str) -> str:
        """The contact the agent handles now ("" when none)."""
        handled = self._by_agent.get(agent_id)
        return handled.contact_id if handled else ""

    def agent_changed(
        self,
        agent_id: str,
        to_state: AgentState,
        contact_id: str,
        at: float,
        medium: str = Media.VOICE,
        queue: str = "",
    ) -> list[ContactEvent]:
        """An agent's state changed: taking a contact accepts it; leaving the call (wrap-up,
        back to ready, signed out) ends the one it handled — or, when the agent was
        transferring it, the contact is transferred (it goes on elsewhere)."""
        out: list[ContactEvent] = []
        handled = self._by_agent.get(agent_id)
        if handled is not None and to_state is not AgentState.ON_CALL:
            del self._by_agent[agent_id]
            target = self._transferring.pop(agent_id, None)
            if target is not None:
                out.append(
                    ContactTransferred(handled.contact_id, handled.medium, at, agent_id, target)
                )
            else:
                out.append(
                    ContactEnded(
                        handled.contact_id, handled.medium, at, "handled", agent_id, handled.queue
                    )
                )
        if to_state is AgentState.ON_CALL and contact_id and handled is None:
            self._by_agent[agent_id] = _Handled(contact_id, str(medium), queue)
            out.append(ContactAccepted(contact_id, str(medium), at, agent_id, queue))
        return out

    def held(self, agent_id: str, held: bool, at: float) -> list[ContactEvent]:
        handled = self._by_agent.get(agent_id)
        if handled is None:
            return []
        return [ContactHeld(handled.contact_id, handled.medium, at, agent_id, held)]

    def transfer_started(self, agent_id: str, target: str) -> None:
        """The agent asked to transfer its contact (`target`: kind:target, "" unknown): when
        it leaves the call, the contact is transferred, not ended."""
        if agent_id in self._by_agent:
            self._transferring[agent_id] = target

    def transfer_failed(self, agent_id: str) -> None:
        """The transfer was refused: the agent still has its contact."""
        self._transferring.pop(agent_id, None)

    @staticmethod
    def left_queue(
        contact_id: str, medium: str, queue: str, outcome: str, at: float, target: str = ""
    ) -> list[ContactEvent]:
        """A contact left its queue without an agent: abandoned ends it; an overflow
        transfers it (`target`: where to, kind:target)."""
        if outcome == "abandoned":
            return [ContactEnded(contact_id, str(medium), at, outcome, "", queue)]
        if outcome == "overflowed":
            return [ContactTransferred(contact_id, str(medium), at, "", target)]
        return []
