"""The wallboard's side of CallCenterDB: today's figures rebuilt from the CDRs and the agent
state log when icm starts (a restart does not reset the day), the alarm limits of the
queues, and the system event history (SV-14) icm appends to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from agents.models import AgentStateChange
from icm.domain.acd.day_figures import DayFigures
from icm.domain.acd.model import AgentState
from icm.domain.alarms import AlarmChange, QueueAlarmLimits
from icm.models import Call, Queue, SystemEvent


def local_day_start(now: float) -> datetime:
    """Midnight of `now`'s local day (settings.TIME_ZONE)."""
    local = datetime.fromtimestamp(now, tz=ZoneInfo(settings.TIME_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def seed_day_figures(day: DayFigures, switch: str, now: float) -> tuple[int, int]:
    """Replay today's queue outcomes (CDRs) and agent state changes into `day`, in time
    order. Returns (contacts, state changes) replayed."""
    since = local_day_start(now)
    events: list[tuple[float, int, Any]] = []
    calls = Call.objects.filter(
        switch__name=switch, created_at__gte=since, queue__isnull=False
    ).values_list("call_uuid", "queue__name", "created_at", "attached_data")
    queue_of_call: dict[str, str] = {}
    for call_uuid, queue, created_at, attached in calls.iterator():
        queue_of_call[call_uuid] = queue
        routing = (attached or {}).get("routing") or {}
        outcome = routing.get("outcome")
        if outcome not in ("answered", "abandoned", "overflowed"):
            continue
        waited = float(routing.get("waited") or 0.0)
        at = created_at.timestamp() + waited
        events.append((at, 0, ("contact", queue, outcome, waited)))
    changes = (
        AgentStateChange.objects.filter(at__gte=since, switch__name=switch)
        .order_by("at", "id")
        .values_list("agent__login_id", "to_state", "at", "call_uuid")
    )
    for n, (agent_id, to_state, at, contact) in enumerate(changes.iterator()):
        queue = queue_of_call.get(contact, "") if to_state == AgentState.ON_CALL else ""
        events.append((at.timestamp(), 1 + n, ("agent", agent_id, to_state, queue)))
    events.sort(key=lambda e: (e[0], e[1]))
    contacts = agent_changes = 0
    for at, _, item in events:
        if item[0] == "contact":
            day.contact_finished(item[1], item[2], item[3], at)
            contacts += 1
        else:
            day.agent_changed(item[1], item[2], at, item[3])
            agent_changes += 1
    return contacts, agent_changes


def load_alarm_limits() -> dict[str, QueueAlarmLimits]:
    """Each enabled queue's wallboard alarm limits (waiting, longest wait, SL target)."""
    rows = Queue.objects.filter(enabled=True).values_list(
        "name", "alarm_waiting", "alarm_wait_seconds", "service_level_target"
    )
    return {
        name: QueueAlarmLimits(
            waiting=waiting,
            wait_seconds=float(wait) if wait is not None else None,
            sl_target=float(target) if target else None,
        )
        for name, waiting, wait, target in rows
    }


def system_event(
    switch: str, kind: str, at: float, text: str = "", change: AlarmChange | None = None
) -> SystemEvent:
    """An unsaved SystemEvent row (icm batches them)."""
    row = SystemEvent(
        switch=switch, kind=kind, at=datetime.fromtimestamp(at, tz=UTC), text=text[:300]
    )
    if change is not None:
        alarm = change.alarm
        row.alarm, row.subject, row.severity = alarm.kind, alarm.subject[:128], alarm.severity
        row.text = alarm.text[:300]
        if not change.raised:
            row.raised_at = datetime.fromtimestamp(change.since, tz=UTC)
    return row


def write_system_events(rows: list[SystemEvent]) -> None:
    SystemEvent.objects.bulk_create(rows, ignore_conflicts=True)  # a replay skips
