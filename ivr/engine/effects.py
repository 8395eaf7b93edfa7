"""What the flow interpreter asks a front-end to do (voice or text), and what comes back.

The interpreter never does I/O: each step returns one Effect; the front-end carries it out
(plays, collects digits, asks a connector …) and resumes the run with the result. A
Finished effect ends the run with what happens to the contact next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .prompts import Prompt


@dataclass(frozen=True, slots=True)
class Play:
    """Say these prompts; resume with None."""

    prompts: tuple[Prompt, ...]


@dataclass(frozen=True, slots=True)
class Collect:
    """Say the prompts (interruptible) and collect digits; resume with the digits ("" when
    nothing came before the time-out)."""

    prompts: tuple[Prompt, ...]
    min_digits: int
    max_digits: int
    terminators: str
    timeout: float  # seconds for the first digit
    digit_timeout: float  # seconds between digits
    choices: tuple[str, ...] = ()  # a menu's valid keys (text front-end shows them)


@dataclass(frozen=True, slots=True)
class Record:
    """Say the prompts, then record up to max_seconds; resume with where it was stored."""

    prompts: tuple[Prompt, ...]
    max_seconds: int
    name: str  # a file-name hint (flow and node)


@dataclass(frozen=True, slots=True)
class Lookup:
    """Ask a data-access connector; resume with a dict of fields (empty: not found) or
    Failed."""

    connector: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReadIcm:
    """A live ICM value (queue length, agents ready, expected wait s); resume with a number
    or Failed."""

    metric: str
    queue: str


@dataclass(frozen=True, slots=True)
class CheckSchedule:
    """Is the named schedule open now (holidays included)? Resume with a bool or Failed."""

    schedule: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The run is over: `action` is enter_queue, transfer, voicemail or hangup; `prompts`
    are said first; `variables` travel with the contact (IVR-6)."""

    action: str
    params: dict[str, Any] = field(default_factory=dict)
    prompts: tuple[Prompt, ...] = ()
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failed:
    """The result of an effect that could not be carried out (time-out, error, open
    circuit): the node takes its error branch."""

    reason: str


Effect = Play | Collect | Record | Lookup | ReadIcm | CheckSchedule | Finished
