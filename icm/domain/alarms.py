"""Wallboard alarms (SV-2): which conditions hold now, and what was raised or cleared since
the last look — the history kept for fault analysis (SV-14) is made of those transitions.

Conditions:
- `queue_waiting`: more callers wait in a queue than its alarm threshold;
- `queue_wait`: the longest wait of a queue is over its alarm threshold (s);
- `service_level`: the last 15 minutes' service level is under the queue's target, once
  at least MIN_SL_CONTACTS contacts finished in that window;
- `switch`: icm has no connection to its switch;
- `database`: icm's writes have failed for DATABASE_GRACE_SECONDS (what it keeps meanwhile
  is on disk; see docs/operations.md);
- `gateway`: a SIP trunk is not registered or not reachable;
- `not_ready`: an agent has been not ready longer than the threshold.

Pure: the caller passes the figures and the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from icm.domain.events import gateway_healthy

MIN_SL_CONTACTS = 3


DATABASE_GRACE_SECONDS = 5.0  # one failed write is not an outage yet


@dataclass(frozen=True, slots=True)
class QueueAlarmLimits:
    waiting: int | None = None  # more than this many callers waiting
    wait_seconds: float | None = None  # longest wait over this
    sl_target: float | None = None  # percent, on the last 15 minutes


@dataclass(frozen=True, slots=True)
class Alarm:
    key: str  # kind:subject, stable while the condition holds
    kind: str
    subject: str
    severity: str  # warning | critical
    text: str


@dataclass(frozen=True, slots=True)
class AlarmChange:
    alarm: Alarm
    raised: bool  # False: cleared
    at: float
    since: float  # when it was raised


def current_alarms(
    queues: dict[str, dict[str, Any]],
    limits: dict[str, QueueAlarmLimits],
    agents: dict[str, tuple[str, float, str]],
    switch_connected: bool,
    not_ready_limit: float | None,
    now: float,
    gateways: dict[str, tuple[str, str]] | None = None,
    database: tuple[float | None, int] = (None, 0),
) -> dict[str, Alarm]:
    """The alarms that hold now. `queues`: name → figures (waiting, longest_wait, sl_15m,
    finished_15m); `agents`: id → (state, since, reason); `gateways`: name → (registration
    state, ping status); `database`: since when icm's writes fail (None: they do not) and
    the rows it keeps meanwhile."""
    found: list[Alarm] = []
    if not switch_connected:
        found.append(Alarm("switch:", "switch", "", "critical", "switch disconnected"))
    failing_since, unsaved = database
    if failing_since is not None and now - failing_since >= DATABASE_GRACE_SECONDS:
        text = (
            f"database unreachable for {now - failing_since:.0f} s: calls are routed from "
            f"memory, {unsaved} records kept on disk until it answers"
        )
        found.append(Alarm("database:", "database", "", "critical", text))
    for name, (state, ping) in (gateways or {}).items():
        if switch_connected and not gateway_healthy(state, ping):
            text = f"gateway {name} is {state.lower() or 'unknown'} (ping {ping.lower() or '?'})"
            found.append(Alarm(f"gateway:{name}", "gateway", name, "critical", text))
    for name, fig in queues.items():
        limit = limits.get(name) or QueueAlarmLimits()
        waiting = int(fig.get("waiting") or 0)
        if limit.waiting is not None and waiting > limit.waiting:
            text = f"{waiting} callers waiting in {name} (limit {limit.waiting})"
            found.append(Alarm(f"queue_waiting:{name}", "queue_waiting", name, "warning", text))
        longest = float(fig.get("longest_wait") or 0.0)
        if limit.wait_seconds is not None and longest > limit.wait_seconds:
            found.append(
                Alarm(
                    f"queue_wait:{name}",
                    "queue_wait",
                    name,
                    "critical",
                    f"a caller has waited {longest:.0f} s in {name} "
                    f"(limit {limit.wait_seconds:.0f} s)",
                )
            )
        sl = fig.get("sl_15m")
        enough = int(fig.get("finished_15m") or 0) >= MIN_SL_CONTACTS
        if limit.sl_target is not None and sl is not None and enough and sl < limit.sl_target:
            found.append(
                Alarm(
                    f"service_level:{name}",
                    "service_level",
                    name,
                    "warning",
                    f"service level of {name} is {sl:.0f}% over the last 15 minutes "
                    f"(target {limit.sl_target:.0f}%)",
                )
            )
    if not_ready_limit is not None:
        for agent_id, (state, since, reason) in agents.items():
            if state == "not_ready" and now - since > not_ready_limit:
                why = f" ({reason})" if reason else ""
                text = f"{agent_id} not ready for {(now - since) / 60:.0f} min{why}"
                found.append(Alarm(f"not_ready:{agent_id}", "not_ready", agent_id, "warning", text))
    return {a.key: a for a in found}


class AlarmBook:
    """The alarms raised and not yet cleared; `update` says what changed."""

    def __init__(self) -> None:
        self.active: dict[str, tuple[Alarm, float]] = {}  # key -> (alarm, raised at)

    def update(self, alarms: dict[str, Alarm], now: float) -> list[AlarmChange]:
        changes = [
            AlarmChange(alarm, False, now, since)
            for key, (alarm, since) in self.active.items()
            if key not in alarms
        ]
        for change in changes:
            del self.active[change.alarm.key]
        for key, alarm in alarms.items():
            if key not in self.active:
                self.active[key] = (alarm, now)
                changes.append(AlarmChange(alarm, True, now, now))
            else:  # the text may move on (e.g. the wait grows); it stays the same alarm
                self.active[key] = (alarm, self.active[key][1])
        return changes

    def as_json(self) -> list[dict[str, Any]]:
        return [alarm_json(a, since) for a, since in self.active.values()]


def alarm_json(alarm: Alarm, since: float) -> dict[str, Any]:
    return {
        "key": alarm.key,
        "kind": alarm.kind,
        "subject": alarm.subject,
        "severity": alarm.severity,
        "text": alarm.text,
        "since": since,
    }
