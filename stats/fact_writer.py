"""Writing icm's statistics facts (icm.domain.facts) — one batch, one transaction, a bulk
insert per kind. Rows already there (a batch retried after a lost reply) are skipped by
their natural keys, so a retry never counts a fact twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from stats.fact_models import AgentStateFact, ContactFact, QueueEventFact, SystemSnapshot

_MODELS = {
    "contact": ContactFact,
    "queue_event": QueueEventFact,
    "agent_state": AgentStateFact,
    "snapshot": SystemSnapshot,
}
_TIMES = ("at", "entered_at", "answered_at", "ended_at", "started_at")
BATCH = 2000


def _row(fact: dict[str, Any]) -> dict[str, Any]:
    return {
        k: datetime.fromtimestamp(v, tz=UTC) if k in _TIMES and v is not None else v
        for k, v in fact.items()
    }


def write_facts(facts: list[tuple[str, dict[str, Any]]]) -> int:
    """Insert the facts (kind, fields with epoch times); how many were given."""
    by_kind: dict[str, list[Any]] = {}
    for kind, fact in facts:
        model = _MODELS[kind]
        by_kind.setdefault(kind, []).append(model(**_row(fact)))
    with transaction.atomic():
        for kind, rows in by_kind.items():
            _MODELS[kind].objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    return len(facts)
