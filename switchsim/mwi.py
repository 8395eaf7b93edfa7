"""Phones' message-waiting lamps (MWI), as mod_sofia keeps them.

A MESSAGE_WAITING event fired into the switch (``sendevent MESSAGE_WAITING``, or
mod_voicemail's answer to a MESSAGE_QUERY) is taken by sofia_presence.c's MWI handler: it
needs ``MWI-Message-Account`` (``sip:<user>@<host>``) and ``MWI-Messages-Waiting`` (else it
logs "Missing required Header" and does nothing), and sends the phone registered as that
account a NOTIFY (``Event: message-summary``) with ``Messages-Waiting`` and
``Voice-Message`` (``new/old (urgent new/urgent old)``). switchsim keeps the last state per
account and counts the NOTIFYs a registered phone got; ``sim_mwi <ext>`` shows it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Lamp:
    account: str  # user@host
    waiting: bool
    voice: str  # "new/old (0/0)" as the NOTIFY's Voice-Message carries it
    notifies: int = 0  # NOTIFYs the registered phone got


class Lamps:
    def __init__(self) -> None:
        self.by_user: dict[str, Lamp] = {}

    def fired(self, headers: dict[str, str], registered: Callable[[str], bool]) -> Lamp | None:
        """A MESSAGE_WAITING event was fired (headers lower-cased); the phone's new lamp."""
        account = headers.get("mwi-message-account", "")
        waiting = headers.get("mwi-messages-waiting", "")
        if not account or not waiting:
            return None  # "Missing required Header"
        user, _, host = account.removeprefix("sip:").partition("@")
        lamp = self.by_user.get(user) or Lamp(f"{user}@{host}", False, "0/0 (0/0)")
        lamp.waiting = waiting.lower() == "yes"
        lamp.voice = headers.get("mwi-voice-message", "") or lamp.voice
        if registered(user):
            lamp.notifies += 1
        self.by_user[user] = lamp
        return lamp

    def show(self, user: str) -> str:
        """``sim_mwi <ext>``: the phone's lamp as JSON (waiting false before any event)."""
        lamp = self.by_user.get(user) or Lamp(user, False, "0/0 (0/0)")
        return json.dumps(asdict(lamp)) + "\n"
