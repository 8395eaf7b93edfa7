"""The voicemail feature's inbox items."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LampChanged:
    """An IVR session filed a message: the mailbox's phone lamp shows `new` / `old`."""

    user: str
    domain: str
    new: int
    old: int
