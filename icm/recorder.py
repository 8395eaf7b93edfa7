"""Call recording on the switch (REC-1, REC-2, REC-9, REC-11, AG-14, SV-5): when an agent's
call is connected icm asks the policies (icm.domain.recording_policy) and, if the call is
to be recorded, records the agent's leg — `RECORD_STEREO` puts the agent on one channel and
the customer on the other — into the deployment's recordings directory. The switch stops it
at hang-up (REC-11); its RECORD_STOP hands the file to the catalogue (persisted by icm's
persister, measured and converted by Celery: recording.catalogue).

The agent (and its supervisor) can start and stop on demand and pause / resume for
sensitive moments: `uuid_record … pause` leaves the paused stretch out of the file.

Runs in icm's greenlets; switch commands go out as bgapi jobs, so the consumer never waits.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icm.bus.commands import CommandError
from icm.domain.calls import CallRecord
from icm.domain.recording_policy import (
    FORMATS,
    CallFacts,
    Decision,
    RecordingPolicy,
    RecordOrder,
    decide,
)

log = logging.getLogger(__name__)
ACTIONS = ("record_start", "record_stop", "record_pause", "record_resume")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class ActiveRecording:
    """A recording the switch is writing."""

    path: str
    leg: str
    call_uuid: str
    agent: str
    queue: str
    ani: str
    dnis: str
    customer: str
    decision: Decision
    started: float
    paused_at: float | None = None
    paused: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


class Recorder:
    def __init__(
        self,
        switch: str,
        send: Callable[[str], object],
        directory: str,
        time_zone: str,
        on_finished: Callable[[dict[str, Any]], None],
    ) -> None:
        self.switch = switch
        self.send = send  # a bgapi: fire and forget
        self.directory = Path(directory)
        self.zone = ZoneInfo(time_zone)
        self.on_finished = on_finished
        self.policies: list[RecordingPolicy] = []
        self.orders: list[RecordOrder] = []
        self.active: dict[str, ActiveRecording] = {}  # path -> recording
        self.by_leg: dict[str, str] = {}  # leg -> path

    # --- automatic -----------------------------------------------------------------------
    def agent_connected(self, agent: str, leg: str, call: CallRecord | None, queue: str,
                        customer: str = "", now: float | None = None) -> str | None:  # fmt: skip
        """The agent's call is connected: record it if a policy or an order says so.
        Returns the file's path, or None."""
        if not leg or leg in self.by_leg or call is None:
            return None
        now = time.time() if now is None else now
        local = datetime.fromtimestamp(now, tz=self.zone).time()
        facts = CallFacts(call.ani, call.dnis, agent, queue, local, now)
        decision = decide(self.policies, self.orders, facts)
        if decision is None:
            return None
        return self._start(agent, leg, call, queue, customer, decision, now)

    def _start(self, agent: str, leg: str, call: CallRecord, queue: str, customer: str,
               decision: Decision, now: float) -> str:  # fmt: skip
        day = datetime.fromtimestamp(now, tz=UTC)
        name = f"{call.call_uuid}-{leg[:8]}-{int(now)}.wav"
        path = str(self.directory / self.switch / f"{day:%Y/%m/%d}" / name)
        rec = ActiveRecording(path, leg, call.call_uuid, agent, queue, call.ani, call.dnis,
                              customer, decision, now)  # fmt: skip
        self.active[path] = rec
        self.by_leg[leg] = path
        self.send(f"uuid_setvar {leg} RECORD_STEREO {'true' if decision.stereo else 'false'}")
        self.send(f"uuid_record {leg} start {path}")
        log.info("call %s: recording agent %s's leg %s (%s, %s) to %s", call.call_uuid, agent,
                 leg, decision.why, decision.format, path)  # fmt: skip
        return path

    def stopped(self, leg: str, path: str, at: float, cause: str, ms: int | None) -> bool:
        """RECORD_STOP from the switch: hand the file to the catalogue (True if it was ours)."""
        rec = self.active.pop(path, None)
        if rec is None:
            return False
        if self.by_leg.get(rec.leg) == path:
            del self.by_leg[rec.leg]
        if rec.paused_at is not None:
            rec.paused += at - rec.paused_at
        self.on_finished({
            "switch": self.switch, "call_uuid": rec.call_uuid, "leg_uuid": rec.leg,
            "path": path, "agent": rec.agent, "queue": rec.queue, "ani": rec.ani,
            "dnis": rec.dnis, "customer": rec.customer, "policy": rec.decision.why,
            "format": rec.decision.format, "channels": 2 if rec.decision.stereo else 1,
            "started": rec.started, "ended": at, "paused": round(rec.paused, 3),
            "retention_days": rec.decision.retention_days, "cause": cause, "ms": ms,
        })  # fmt: skip
        log.info("call %s: recording %s done (%s, %.1f s paused)", rec.call_uuid, path, cause,
                 rec.paused)  # fmt: skip
        return True

    # --- on demand -----------------------------------------------------------------------
    def command(self, action: str, agent: str, leg: str, call: CallRecord | None, queue: str,
                args: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        """record_start / record_stop / record_pause / record_resume on the agent's call."""
        if not leg or call is None:
            raise CommandError(f"agent {agent} has no call to record")
        path = self.by_leg.get(leg)
        now = time.time()
        if action == "record_start":
            if path is not None:
                raise CommandError("this call is already being recorded")
            fmt = str(args.get("format") or "pcm")
            decision = Decision(fmt if fmt in FORMATS else "pcm",
                                bool(args.get("stereo", True)), str(args.get("why") or
                                "on demand"))  # fmt: skip
            path = self._start(agent, leg, call, queue, str(args.get("customer") or ""),
                               decision, now)  # fmt: skip
            return {"agent": agent, "action": action, "path": path}
        if path is None:
            raise CommandError("this call is not being recorded")
        rec = self.active[path]
        if action == "record_stop":
            self.send(f"uuid_record {leg} stop {path}")
        elif action == "record_pause":
            if rec.paused_at is None:
                rec.paused_at = now
                self.send(f"uuid_record {leg} pause {path}")
        elif action == "record_resume":
            if rec.paused_at is not None:
                rec.paused += now - rec.paused_at
                rec.paused_at = None
                self.send(f"uuid_record {leg} resume {path}")
        else:
            raise CommandError(f"unknown recording action {action!r}")
        log.info("call %s: agent %s %s (%s)", rec.call_uuid, agent, action, path)
        return {"agent": agent, "action": action, "path": path,
                "paused": rec.paused_at is not None}  # fmt: skip

    def state_of(self, leg: str) -> str:
        """'' | 'recording' | 'paused' — for the agent's view."""
        path = self.by_leg.get(leg)
        if path is None:
            return ""
        return "paused" if self.active[path].paused_at is not None else "recording"
