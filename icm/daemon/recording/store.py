"""Recording's side of CallCenterDB for icm: the enabled policies and live orders (loaded at
start and every few seconds), the recordings in progress (persisted when started, loaded at
start) and the catalogue rows of finished recordings (written by icm's persister, retried while
PostgreSQL is away)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from django.db import transaction
from django.db.models import Q

from icm.domain.recording_policy import InvalidPolicy, RecordingPolicy, RecordOrder
from recording.models import RecordingPolicy as PolicyRow
from recording.models import RecordOrder as OrderRow
from recording.unfinished import active_on, catalogue, save_paused, save_started

log = logging.getLogger(__name__)


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.replace(",", "\n").splitlines() if n.strip())


def load_recording_rules() -> tuple[list[RecordingPolicy], list[RecordOrder]]:
    """The enabled policies (a bad one is logged and skipped) and the orders not over."""
    policies = []
    for row in PolicyRow.objects.filter(enabled=True).prefetch_related("agents", "queues"):
        try:
            policies.append(
                RecordingPolicy(
                    name=row.name,
                    mode=row.mode,
                    agents=frozenset(a.login_id for a in row.agents.all()),
                    queues=frozenset(q.name for q in row.queues.all()),
                    only_numbers=_numbers(row.only_numbers),
                    never_numbers=_numbers(row.never_numbers),
                    windows=tuple(row.windows()),
                    format=row.format,
                    stereo=row.stereo,
                    priority=row.priority,
                    retention_days=row.retention_days,
                )
            )
        except InvalidPolicy as exc:
            log.error("recording policy %r ignored: %s", row.name, exc)
    now = datetime.now(tz=UTC)
    orders = [
        RecordOrder(
            o.agent.login_id,
            o.starts_at.timestamp(),
            o.ends_at.timestamp() if o.ends_at else None,
            o.format,
            o.stereo,
        )
        for o in OrderRow.objects.filter(cancelled_at__isnull=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now - timedelta(minutes=1)))
        .select_related("agent")
    ]
    return policies, orders


def write_recordings(rows: list[dict[str, Any]]) -> int:
    """Persist the recorder's rows in order (see recorder.Recorder.persist): recordings
    started (a LiveRecording each, so a restarted icm knows them), paused, and finished —
    catalogued with status processing (Celery measures and converts them), merged with their
    persisted start. A recording already catalogued (the same switch and path) is left as it
    is. Returns the recordings catalogued."""
    catalogued = 0
    with transaction.atomic():  # a retry after a failure writes the whole batch again
        for kind, group in groupby(rows, key=lambda r: r.get("kind", "finished")):
            batch = list(group)
            if kind == "started":
                save_started(batch)
            elif kind == "paused":
                save_paused(batch)
            else:
                catalogued += catalogue(batch)
    return catalogued


def load_active_recordings(switch: str) -> list[dict[str, Any]]:
    """The recordings a previous icm on `switch` started that are not catalogued yet, for
    icm.daemon.recording.recorder.Recorder.restore."""
    return list(active_on(switch))
