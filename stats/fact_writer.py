"""Writing icm's statistics facts (icm.domain.facts) — one batch, one transaction, one
set-based insert per kind: `INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING` (the ORM's
bulk_create compiled a placeholder per field per row: a tenth of icm's CPU under load).
Rows already there (a batch retried after a lost reply) are skipped by their natural keys,
so a retry never counts a fact twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connection, models, transaction

from stats.fact_models import AgentStateFact, ContactFact, QueueEventFact, SystemSnapshot

_MODELS: dict[str, type[models.Model]] = {
    "contact": ContactFact,
    "queue_event": QueueEventFact,
    "agent_state": AgentStateFact,
    "snapshot": SystemSnapshot,
}
_TIMES = ("at", "entered_at", "answered_at", "ended_at", "started_at")


def _row(fact: dict[str, Any]) -> dict[str, Any]:
    return {
        k: datetime.fromtimestamp(v, tz=UTC) if k in _TIMES and v is not None else v
        for k, v in fact.items()
    }


@cache
def _columns(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The fields a fact row carries (not the id, not those the database fills)."""
    return tuple(
        f for f in model._meta.concrete_fields if not f.primary_key and not f.has_db_default()
    )


@cache
def _insert_sql(model: type[models.Model]) -> str:
    fields = _columns(model)
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({names}) "  # noqa: S608 - model metadata
        f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"
    )


def _value(field: models.Field, obj: models.Model) -> Any:
    value = getattr(obj, field.attname)
    if isinstance(field, models.JSONField):
        return json.dumps(value)
    return field.get_prep_value(value)  # one type per array: a default 0 becomes 0.0


def write_facts(facts: list[tuple[str, dict[str, Any]]]) -> int:
    """Insert the facts (kind, fields with epoch times); how many were given."""
    by_kind: dict[str, list[models.Model]] = {}
    for kind, fact in facts:
        by_kind.setdefault(kind, []).append(_MODELS[kind](**_row(fact)))  # defaults applied
    with transaction.atomic(), connection.cursor() as cursor:
        for kind, rows in by_kind.items():
            model = _MODELS[kind]
            columns = [[_value(f, row) for row in rows] for f in _columns(model)]
            cursor.execute(_insert_sql(model), columns)
    return len(facts)
