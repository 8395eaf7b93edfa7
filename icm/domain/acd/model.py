"""ACD data: agents, contacts, queue policies, offers and their explanations."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"  # a contact is being offered (the phone rings)
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class CallKind(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Media(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    SMS = "sms"
    FAX = "fax"
    CALLBACK = "callback"


class ContactOutcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"


@dataclass(slots=True)
class Agent:
    """One agent's live ACD view (mutated only by the engine)."""

    agent_id: str
    skills: dict[str, int]  # skill -> level 1..10
    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    state_since: float = 0.0
    idle_since: float = 0.0  # when it last became free (ready after a call / login)
    logged_in_at: float = 0.0
    order: int = 0  # top-down rank (lower first)
    reserve: bool = False  # a reserve in every queue (per queue: QueuePolicy.reserve_agents)
    unreachable: str = ""  # why its phone cannot be rung now, e.g. not registered ("": can)
    calls_handled: int = 0
    talk_seconds: float = 0.0
    missed_in_a_row: int = 0
    contact_id: str = ""  # offered / handled contact
    prior_state: AgentState = AgentState.READY  # returned to after wrap-up
    prior_reason: str = ""
    on_hold: bool = False
    call_kind: CallKind | None = None
    busy_since: float = 0.0
    # (start, end) of recent busy intervals, for occupancy over a rolling window
    busy_intervals: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=256))


@dataclass(slots=True)
class Contact:
    """Something waiting for an agent: a call now; chat, email, SMS, fax tasks later."""

    contact_id: str
    queue: str
    enqueued_at: float
    priority: int = 0  # higher first
    media: Media = Media.VOICE
    required_skills: dict[str, int] = field(default_factory=dict)  # on top of the queue's
    attached: dict[str, Any] = field(default_factory=dict)
    ani: str = ""
    customer_id: str = ""
    last_agent_id: str = ""
    offered_to: frozenset[str] = frozenset()  # agents ringing now
    declined_by: set[str] = field(default_factory=set)  # rejected / missed: try others first
    sequence: int = 0  # arrival order, the tie-breaker


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """After `after_seconds` in queue, required levels drop by `relax_levels` (min 1)."""

    after_seconds: float
    relax_levels: int


@dataclass(frozen=True, slots=True)
class Overflow:
    """Move a contact elsewhere after `after_seconds`, or when expected wait exceeds
    `expected_wait_over` seconds: target kind queue | number | voicemail | callback."""

    target_kind: str
    target: str = ""
    after_seconds: float | None = None
    expected_wait_over: float | None = None


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """How one queue routes (ICM-5); versioned by the store, immutable here."""

    name: str
    strategy: str = "longest_idle"
    skills: dict[str, int] = field(default_factory=dict)  # skill -> minimum level
    ring_timeout: float = 20.0
    wrap_up_seconds: float = 10.0
    max_missed: int = 3  # consecutive no-answers before the agent goes not ready
    escalation: tuple[EscalationStep, ...] = ()
    priority_mode: str = "strict"  # strict | weighted
    priority_weight_seconds: float = 30.0  # weighted: one priority point = this many s waited
    last_agent_seconds: float = 0.0  # wait this long for the previous agent
    occupancy_cap: float | None = None  # 0..1 over the rolling window
    occupancy_window: float = 3600.0
    reserve_threshold: int | None = None  # reserves only when more than this many wait
    reserve_service_level: float | None = None  # … or when SL (0..1) drops below this
    service_level_seconds: float = 20.0
    max_wait: float | None = None
    overflow: tuple[Overflow, ...] = ()
    announce_seconds: float = 30.0  # position / expected wait every N s (0: never)
    agent_order: dict[str, int] = field(default_factory=dict)  # top_down: agent -> position
    reserve_agents: frozenset[str] = frozenset()  # this queue's reserve agents
    version: int = 1

    def is_reserve(self, agent: Agent) -> bool:
        """Whether `agent` is a reserve here: offered calls only while the queue is busy."""
        return agent.reserve or agent.agent_id in self.reserve_agents


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: str
    score: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a contact went to these agents (shown to supervisors per call)."""

    strategy: str
    policy_version: int
    required_levels: dict[str, int]
    escalation_step: int
    chosen: tuple[Candidate, ...]
    eligible: tuple[str, ...]
    excluded: dict[str, str]  # agent -> why not
    rule: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "policy_version": self.policy_version,
            "required_levels": dict(self.required_levels),
            "escalation_step": self.escalation_step,
            "chosen": [
                {"agent": c.agent_id, "score": c.score, "detail": c.detail} for c in self.chosen
            ],
            "eligible": list(self.eligible),
            "excluded": dict(self.excluded),
            "rule": self.rule,
        }
