"""What the campaign dialler puts in icm's inbox: its timers, verdicts and agents' preview
actions (run by the consumer greenlet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gevent.event


@dataclass(frozen=True, slots=True)
class FlowAnswers:
    """Posted by the IVR greenlet when a campaign call's flow ends."""

    leg: str
    variables: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PreviewsDue:
    """Previews wait for agents: show them to the free ones (consumer greenlet)."""


@dataclass(frozen=True, slots=True)
class WithdrawPreviews:
    campaign: str


@dataclass(frozen=True, slots=True)
class PreviewTimeout:
    leg: str
    agent: str


@dataclass(frozen=True, slots=True)
class RingFirst:
    """The pacer let a call-back (or a preview's dial) go: ring its agent (consumer)."""

    leg: str


@dataclass(slots=True)
class PreviewAction:
    """The agent's Call or Skip on the preview it is shown (a desktop command)."""

    agent: str
    action: str  # "call" or "skip"
    not_ready: bool = False
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


@dataclass(frozen=True, slots=True)
class GraceOver:
    leg: str


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    leg: str
    result: str
