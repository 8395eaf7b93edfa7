"""Call recording on the switch (REC-1, REC-2, REC-9, REC-11, AG-14, SV-5): when an agent's
call is connected icm asks the policies (icm.domain.recording_policy) and, if the call is
to be recorded, records the agent's leg — `RECORD_STEREO` puts the agent on one channel and
the customer on the other — into the deployment's recordings directory. The switch stops it
at hang-up (REC-11); its RECORD_STOP hands the file to the catalogue (persisted by icm's
persister, measured and converted by Celery: recording.catalogue).

The agent (and its supervisor) can start and stop on demand and pause / resume for
sensitive moments: `uuid_record … pause` leaves the paused stretch out of the file.

Every recording is persisted from its start (a LiveRecording row, through icm's persister),
so a restarted icm knows what the switch is still writing (`restore`), and a resync finishes
the ones whose leg went while icm was away (`resynced`). A RECORD_STOP for a path icm does not
know (its start was before a restart, or someone else recorded) is catalogued all the same,
from the persisted start and the facts the switch adapter read off its stop event:
whatever the switch recorded is catalogued, whoever started it.
A RECORD_STOP delivered twice makes one row.

Runs in icm's greenlets; switch commands go out as bgapi jobs, so the consumer never waits.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icm.bus.commands import CommandError
from icm.domain import commands as cmd
from icm.domain.calls import CallRecord
from icm.domain.events import RecordingFacts
from icm.domain.recent import Recent
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
SEEN_KEPT = 5_000  # finished paths remembered: a RECORD_STOP delivered again is ignored
SEEN_SECONDS = 120.0  # … for this long at most (issue 21: a count alone filled for hours)
TAPS_DIR = "live"  # icm.daemon.recording.live_listen's taps, under the recordings directory
RESYNC_GUARD = 2.0  # seconds: a recording this new is not judged by a resync's channel list
LEFT_UNSEEN = "leg-gone-unseen"  # the cause of a recording whose leg ended while icm was away


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
        send: Callable[[cmd.SwitchCommand], object],
        directory: str,
        time_zone: str,
        persist: Callable[[dict[str, Any]], None],
    ) -> None:
        self.switch = switch
        self.send = send  # a bgapi: fire and forget
        self.directory = Path(directory)
        self.zone = ZoneInfo(time_zone)
        # rows for icm's persister (recording.store.write_recordings), by "kind": started,
        # paused (the paused time so far) and finished (to the catalogue)
        self.persist = persist
        self.policies: list[RecordingPolicy] = []
        self.orders: list[RecordOrder] = []
        self.active: dict[str, ActiveRecording] = {}  # path -> recording
        self.by_leg: dict[str, str] = {}  # leg -> path
        self.seen: Recent[str, None] = Recent(SEEN_SECONDS, SEEN_KEPT)  # finished paths

    # --- automatic -----------------------------------------------------------------------
    def agent_connected(
        self,
        agent: str,
        leg: str,
        call: CallRecord | None,
        queue: str,
        customer: str = "",
        now: float | None = None,
    ) -> str | None:
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

    def _start(
        self,
        agent: str,
        leg: str,
        call: CallRecord,
        queue: str,
        customer: str,
        decision: Decision,
        now: float,
    ) -> str:
        day = datetime.fromtimestamp(now, tz=UTC)
        name = f"{call.call_uuid}-{leg[:8]}-{int(now)}.wav"
        path = str(self.directory / self.switch / f"{day:%Y/%m/%d}" / name)
        rec = ActiveRecording(
            path, leg, call.call_uuid, agent, queue, call.ani, call.dnis, customer, decision, now
        )
        self.active[path] = rec
        self.by_leg[leg] = path
        self.persist(
            {
                "kind": "started",
                "switch": self.switch,
                "path": path,
                "call_uuid": call.call_uuid,
                "leg_uuid": leg,
                "agent": agent,
                "queue": queue,
                "customer": customer,
                "ani": call.ani,
                "dnis": call.dnis,
                "policy": decision.why,
                "format": decision.format,
                "stereo": decision.stereo,
                "retention_days": decision.retention_days,
                "started": now,
            }
        )
        self.send(cmd.SetLegVariable(leg, "RECORD_STEREO", "true" if decision.stereo else "false"))
        self.send(cmd.RecordLeg(leg, "start", path))
        log.info(
            "call %s: recording agent %s's leg %s (%s, %s) to %s",
            call.call_uuid,
            agent,
            leg,
            decision.why,
            decision.format,
            path,
        )
        return path

    def stopped(
        self,
        leg: str,
        path: str,
        at: float,
        cause: str,
        ms: int | None,
        facts: RecordingFacts | None = None,
    ) -> bool:
        """RECORD_STOP from the switch: hand the file to the catalogue (True if catalogued).
        `facts` (the event's own) describe a recording icm does not know."""
        rec = self.active.pop(path, None)
        if rec is None:
            return self._stopped_unknown(leg, path, at, cause, ms, facts or RecordingFacts())
        if self.by_leg.get(rec.leg) == path:
            del self.by_leg[rec.leg]
        if rec.paused_at is not None:
            rec.paused += at - rec.paused_at
        self._seen(path)
        self.persist(
            {
                "kind": "finished",
                "known": True,
                "switch": self.switch,
                "call_uuid": rec.call_uuid,
                "leg_uuid": rec.leg,
                "path": path,
                "agent": rec.agent,
                "queue": rec.queue,
                "ani": rec.ani,
                "dnis": rec.dnis,
                "customer": rec.customer,
                "policy": rec.decision.why,
                "format": rec.decision.format,
                "channels": 2 if rec.decision.stereo else 1,
                "started": rec.started,
                "ended": at,
                "paused": round(rec.paused, 3),
                "retention_days": rec.decision.retention_days,
                "cause": cause,
                "ms": ms,
            }
        )
        log.info(
            "call %s: recording %s done (%s, %.1f s paused)", rec.call_uuid, path, cause, rec.paused
        )
        return True

    def _stopped_unknown(
        self, leg: str, path: str, at: float, cause: str, ms: int | None, facts: RecordingFacts
    ) -> bool:
        """A RECORD_STOP for a path not in the active set: started before an icm restart, or
        by someone else. Catalogued from the persisted start (merged by the store) and the
        event's headers; a path already finished here is a repeated delivery."""
        if path in self.seen:
            log.info("recording %s: RECORD_STOP delivered again; already catalogued", path)
            return False
        where = self._catalogable(path)
        if where is not None and self._is_tap(where):
            log.info("%s on leg %s stopped: a live tap or a voicemail, not a recording", where, leg)
            return False
        if where is None:
            log.warning(
                "recording %s on leg %s stopped (%s) outside %s and not readable here: "
                "not catalogued",
                path,
                leg,
                cause,
                self.directory,
            )
            return False
        self._seen(path)
        self.persist(
            {
                "kind": "finished",
                "known": False,
                "switch": self.switch,
                "leg_uuid": leg,
                "path": where,
                "call_uuid": facts.call_uuid,
                "agent": facts.agent,
                "queue": facts.queue,
                "ani": facts.ani,
                "dnis": facts.dnis,
                "customer": "",
                "policy": "",
                "format": "pcm",
                "channels": None,
                "started": facts.started if facts.started is not None else at,
                "ended": at,
                "paused": 0.0,
                "retention_days": None,
                "cause": cause,
                "ms": ms,
            }
        )
        log.warning(
            "recording %s on leg %s stopped (%s) without a start known to this icm: "
            "catalogued from the switch's event",
            where,
            leg,
            cause,
        )
        return True

    def _catalogable(self, path: str) -> str | None:
        """The path to catalogue: one under the recordings directory (the switch's relative
        paths are under it too), or a readable file elsewhere; else None."""
        if not path:
            return None
        where = Path(path) if Path(path).is_absolute() else self.directory / path
        try:
            where.resolve().relative_to(self.directory.resolve())
            return str(where)
        except ValueError:
            pass
        return str(where) if where.is_file() and os.access(where, os.R_OK) else None

    def _is_tap(self, where: str) -> bool:
        """A supervisor's live tap (recording.live_listen writes them under <dir>/live/): a listen
        feed deleted when it ends, never a recording; nor a caller's voicemail (the IVR files
        it under <dir>/voicemail/ as a message of its mailbox: IVR-7)."""
        for feed in (TAPS_DIR, "voicemail"):
            try:
                Path(where).resolve().relative_to((self.directory / feed).resolve())
            except ValueError:
                continue
            return True
        return False

    def _seen(self, path: str) -> None:
        self.seen.put(path, None)

    # --- across restarts and resyncs -----------------------------------------------------
    def restore(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """At start: the recordings a previous icm started and the switch may still be writing
        (icm.daemon.recording.store.load_active_recordings). Returns how many."""
        restored = 0
        for r in rows:
            path, leg = str(r["path"]), str(r["leg_uuid"])
            if path in self.active:
                continue
            decision = Decision(
                str(r["format"]), bool(r["stereo"]), str(r["policy"]), r.get("retention_days")
            )
            self.active[path] = ActiveRecording(
                path,
                leg,
                str(r["call_uuid"]),
                str(r["agent"]),
                str(r["queue"]),
                str(r["ani"]),
                str(r["dnis"]),
                str(r["customer"]),
                decision,
                float(r["started"]),
                r.get("paused_at"),
                float(r.get("paused") or 0.0),
            )
            self.by_leg[leg] = path
            restored += 1
        if restored:
            log.info(
                "icm %s: %d recordings in progress restored from the database",
                self.switch,
                restored,
            )
        return restored

    def resynced(self, legs_up: Iterable[str], at: float) -> list[str]:
        """After a (re)connect: a recording whose leg is no longer on the switch ended while
        icm was not listening (its RECORD_STOP is lost): catalogue it now. Returns the agents
        whose recording ended (their desktops show it)."""
        up = set(legs_up)
        # the switch's channel table lags its events: a leg newer than the snapshot may be
        # missing from it (a recording that really ended meanwhile is settled from the CDRs)
        gone = [
            rec
            for rec in self.active.values()
            if rec.leg not in up and rec.started < at - RESYNC_GUARD
        ]
        for rec in gone:
            log.warning(
                "call %s: leg %s ended while icm was away; recording %s catalogued",
                rec.call_uuid,
                rec.leg,
                rec.path,
            )
            self.stopped(rec.leg, rec.path, at, LEFT_UNSEEN, None)
        return [rec.agent for rec in gone]

    # --- on demand -----------------------------------------------------------------------
    def command(
        self,
        action: str,
        agent: str,
        leg: str,
        call: CallRecord | None,
        queue: str,
        args: dict[str, Any],
    ) -> dict[str, Any]:
        """record_start / record_stop / record_pause / record_resume on the agent's call."""
        if not leg or call is None:
            raise CommandError(f"agent {agent} has no call to record")
        path = self.by_leg.get(leg)
        now = time.time()
        if action == "record_start":
            if path is not None:
                raise CommandError("this call is already being recorded")
            fmt = str(args.get("format") or "pcm")
            decision = Decision(
                fmt if fmt in FORMATS else "pcm",
                bool(args.get("stereo", True)),
                str(args.get("why") or "on demand"),
            )
            path = self._start(
                agent, leg, call, queue, str(args.get("customer") or ""), decision, now
            )
            return {"agent": agent, "action": action, "path": path}
        if path is None:
            raise CommandError("this call is not being recorded")
        rec = self.active[path]
        if action == "record_stop":
            self.send(cmd.RecordLeg(leg, "stop", path))
        elif action == "record_pause":
            if rec.paused_at is None:
                rec.paused_at = now
                self.send(cmd.RecordLeg(leg, "pause", path))
                self._persist_pause(rec)
        elif action == "record_resume":
            if rec.paused_at is not None:
                rec.paused += now - rec.paused_at
                rec.paused_at = None
                self.send(cmd.RecordLeg(leg, "resume", path))
                self._persist_pause(rec)
        else:
            raise CommandError(f"unknown recording action {action!r}")
        log.info("call %s: agent %s %s (%s)", rec.call_uuid, agent, action, path)
        return {"agent": agent, "action": action, "path": path, "paused": rec.paused_at is not None}

    def state_of(self, leg: str) -> str:
        """'' | 'recording' | 'paused' — for the agent's view."""
        path = self.by_leg.get(leg)
        if path is None:
            return ""
        return "paused" if self.active[path].paused_at is not None else "recording"

    def _persist_pause(self, rec: ActiveRecording) -> None:
        """A restarted icm must leave the paused stretch out too."""
        self.persist(
            {
                "kind": "paused",
                "switch": self.switch,
                "path": rec.path,
                "paused": round(rec.paused, 3),
                "paused_at": rec.paused_at,
            }
        )
