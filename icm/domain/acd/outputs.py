"""What the ACD engine asks of the outside world (the switch adapter, the store, the bus)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .agent_fsm import AgentStateChanged
from .model import ContactOutcome, Explanation


@dataclass(frozen=True, slots=True)
class OfferContact:
    """Ring these agents for this contact (one, or several with ring-all)."""

    contact_id: str
    queue: str
    agent_ids: tuple[str, ...]
    ring_timeout: float
    explanation: Explanation
    ani: str = ""
    attached: dict[str, Any] = field(default_factory=dict)
    media: str = "voice"


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing these agents (another one answered, or the caller left)."""

    contact_id: str
    agent_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ContactFinished:
    """The contact left the queue: answered by an agent, abandoned, or overflowed."""

    contact_id: str
    queue: str
    outcome: ContactOutcome
    waited: float
    agent_id: str = ""
    target_kind: str = ""
    target: str = ""
    media: str = "voice"


@dataclass(frozen=True, slots=True)
class CallbackOverflow:
    """The queue's overflow turned a waiting caller into a call-back: it keeps its place and
    is served by reserving an agent, then dialling the caller's number (R-7)."""

    contact_id: str
    queue: str


Output = OfferContact | CancelOffer | ContactFinished | AgentStateChanged | CallbackOverflow
