"""icm's updates of the attempt log (placed, answered, ended with its result, the agent),
applied by key in one transaction; several updates of one attempt in a batch are merged in
order. An update for a key without its attempt row (it was deleted) is dropped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from outbound.models import Attempt

_TIMES = ("started_at", "answered_at", "ended_at")
_FIELDS = (
    "started_at",
    "answered_at",
    "ended_at",
    "result",
    "hangup_cause",
    "ring_seconds",
    "talk_seconds",
    "agent",
    "call_uuid",
    "gateway",
    "answers",
)


def write_attempt_updates(updates: list[dict[str, Any]]) -> int:
    merged: dict[str, dict[str, Any]] = {}
    for update in updates:
        row = merged.setdefault(str(update["key"]), {})
        for name, value in update.items():
            if name in _FIELDS and value not in (None, ""):
                row[name] = datetime.fromtimestamp(value, tz=UTC) if name in _TIMES else value
    with transaction.atomic():
        for key, fields in merged.items():
            if fields:
                Attempt.objects.filter(key=key).update(**fields)
    return len(merged)
