"""Live listen in the browser (REC-3): a *tap* on an agent's call — a second media bug on the
agent's leg, `uuid_record <leg> start <path> <limit> {RECORD_STEREO=true}` (FreeSWITCH's
mod_commands passes the bracketed variables to switch_ivr_record_session_event, ahead of the
channel's own, so the call's regular recording keeps its own shape) — written under
`<recordings dir>/live/<switch>/<tap>.wav`. The switch appends the call's audio to the file
as it flows (agent on the first channel, customer on the second); the web process streams
the growing file to the supervisor's browser with per-channel audio levels
(supervision.listen). The tap stops when the supervisor closes it, at its time limit, or
when the call ends; its RECORD_STOP deletes the file — a tap is never catalogued.

Runs in icm's command greenlets (one switch api call each).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icm.bus.commands import CommandError
from icm.domain import commands as cmd

log = logging.getLogger(__name__)
LIMIT_SECONDS = 3600  # a forgotten tap ends after an hour
_TAP = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_AGENT = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True, slots=True)
class Tap:
    tap: str
    path: str
    leg: str
    agent: str
    call_uuid: str


class LiveTaps:
    def __init__(
        self,
        switch: str,
        directory: str,
        call_legs: Callable[[str], tuple[str, str]],
        call_of_leg: Callable[[str], Any],
        api: Callable[[cmd.SwitchCommand], str],
    ) -> None:
        self.switch = switch
        self.directory = Path(directory) / "live" / switch
        self.call_legs = call_legs  # agent -> (its leg, the other party's), or CommandError
        self.call_of_leg = call_of_leg
        self.api = api  # raises CommandError on a -ERR reply
        self.taps: dict[str, Tap] = {}  # tap id -> tap
        self.by_path: dict[str, str] = {}  # path -> tap id

    def start(self, args: dict[str, Any]) -> dict[str, Any]:
        """`live_listen {agent, tap}`: tap the agent's call; the file's path for the web."""
        agent, tap_id = str(args.get("agent", "")), str(args.get("tap", ""))
        if not _AGENT.fullmatch(agent):
            raise CommandError(f"agent ID {agent!r} cannot be listened to")
        if not _TAP.fullmatch(tap_id) or tap_id in self.taps:
            raise CommandError("a new tap needs a fresh id (8–64 letters, digits, - or _)")
        leg, _ = self.call_legs(agent)
        call = self.call_of_leg(leg)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = str(self.directory / f"{tap_id}.wav")
        self.api(cmd.RecordLeg(leg, "start", path, LIMIT_SECONDS, (("RECORD_STEREO", "true"),)))
        tap = Tap(tap_id, path, leg, agent, call.call_uuid if call is not None else "")
        self.taps[tap_id] = tap
        self.by_path[path] = tap_id
        log.info("call %s: live tap %s on agent %s's leg %s", tap.call_uuid, tap_id, agent, leg)
        return {
            "tap": tap_id,
            "path": path,
            "leg": leg,
            "agent": agent,
            "call_uuid": tap.call_uuid,
            "channels": ["agent", "customer"],
        }

    def stop(self, args: dict[str, Any]) -> dict[str, Any]:
        """`live_listen_stop {tap}`: the supervisor closed the player."""
        tap = self.taps.get(str(args.get("tap", "")))
        if tap is None:
            return {"tap": str(args.get("tap", "")), "stopped": False}
        try:
            self.api(cmd.RecordLeg(tap.leg, "stop", tap.path))
        except CommandError as exc:  # the call (and so the tap) has just ended
            log.info("live tap %s: stop: %s", tap.tap, exc)
        return {"tap": tap.tap, "stopped": True}

    def stopped(self, path: str) -> bool:
        """RECORD_STOP: True (and the file removed) when the recording was a tap."""
        tap_id = self.by_path.pop(path, None)
        if tap_id is None:
            return False
        tap = self.taps.pop(tap_id)
        try:
            os.unlink(path)
        except OSError as exc:
            log.warning("live tap %s: cannot remove %s: %s", tap_id, path, exc)
        log.info("call %s: live tap %s ended", tap.call_uuid, tap_id)
        return True
