"""Recording's side of CallCenterDB for icm: the enabled policies and live orders (loaded at
start and every few seconds), and the catalogue rows of finished recordings (written by icm's
persister, retried while PostgreSQL is away)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q

from agents.models import Agent
from icm.domain.recording_policy import InvalidPolicy, RecordingPolicy, RecordOrder
from icm.models import Call, Customer, Queue

log = logging.getLogger(__name__)


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.replace(",", "\n").splitlines() if n.strip())


def load_recording_rules() -> tuple[list[RecordingPolicy], list[RecordOrder]]:
    """The enabled policies (a bad one is logged and skipped) and the orders not over."""
    from recording.models import RecordingPolicy as PolicyRow
    from recording.models import RecordOrder as OrderRow

    policies = []
    for row in PolicyRow.objects.filter(enabled=True).prefetch_related("agents", "queues"):
        try:
            policies.append(RecordingPolicy(
                name=row.name, mode=row.mode,
                agents=frozenset(a.login_id for a in row.agents.all()),
                queues=frozenset(q.name for q in row.queues.all()),
                only_numbers=_numbers(row.only_numbers), never_numbers=_numbers(row.never_numbers),
                windows=tuple(row.windows()), format=row.format, stereo=row.stereo,
                priority=row.priority, retention_days=row.retention_days,
            ))  # fmt: skip
        except InvalidPolicy as exc:
            log.error("recording policy %r ignored: %s", row.name, exc)
    now = datetime.now(tz=UTC)
    orders = [
        RecordOrder(o.agent.login_id, o.starts_at.timestamp(),
                    o.ends_at.timestamp() if o.ends_at else None, o.format, o.stereo)
        for o in OrderRow.objects.filter(cancelled_at__isnull=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now - timedelta(minutes=1)))
        .select_related("agent")
    ]  # fmt: skip
    return policies, orders


def write_recordings(rows: list[dict[str, Any]]) -> int:
    """Catalogue finished recordings (status processing: Celery measures and converts them).
    A row already there (the same switch and path) is left as it is."""
    from recording.models import Recording

    agents = dict(Agent.objects.filter(login_id__in={r["agent"] for r in rows})
                  .values_list("login_id", "id"))  # fmt: skip
    queues = dict(Queue.objects.filter(name__in={r["queue"] for r in rows if r["queue"]})
                  .values_list("name", "id"))  # fmt: skip
    customers = dict(Customer.objects.filter(account__in={r["customer"] for r in rows
                                                          if r["customer"]})
                     .values_list("account", "id"))  # fmt: skip
    calls = dict(Call.objects.filter(switch__name__in={r["switch"] for r in rows},
                                     call_uuid__in={r["call_uuid"] for r in rows})
                 .values_list("call_uuid", "id"))  # fmt: skip
    objects = [
        Recording(
            switch=r["switch"], call_uuid=r["call_uuid"], leg_uuid=r["leg_uuid"],
            call_id=calls.get(r["call_uuid"]), ani=r["ani"][:64], dnis=r["dnis"][:64],
            agent_id=agents.get(r["agent"]), queue_id=queues.get(r["queue"]),
            customer_id=customers.get(r["customer"]), policy=r["policy"][:120],
            started_at=datetime.fromtimestamp(r["started"], tz=UTC),
            ended_at=datetime.fromtimestamp(r["ended"], tz=UTC), paused_seconds=r["paused"],
            format=r["format"], channels=r["channels"], path=r["path"][:500],
            status=Recording.Status.PROCESSING, retention_days=r["retention_days"],
        )
        for r in rows
    ]  # fmt: skip
    Recording.objects.bulk_create(objects, ignore_conflicts=True)
    return len(objects)
