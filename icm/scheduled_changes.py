"""Apply scheduled queue strategy changes that are due (R-10); safe to run twice."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from icm.acd_config import policy_from_queue
from icm.domain.acd.strategies import InvalidPolicy
from icm.models import ScheduledQueueChange

log = logging.getLogger(__name__)


def apply_due_changes(now: datetime | None = None) -> int:
    """Apply every change whose time has come, oldest first; returns how many were applied.

    Saving the queue tells the running icm (icm.signals), which switches strategy live.
    """
    now = now or timezone.now()
    applied = 0
    with transaction.atomic():
        due = (
            ScheduledQueueChange.objects.select_for_update(skip_locked=True)
            .select_related("queue")
            .filter(applied_at__isnull=True, error="", apply_at__lte=now)
            .order_by("apply_at", "id")
        )
        for change in due:
            queue = change.queue
            queue.strategy, queue.strategy_parameters = change.strategy, change.strategy_parameters
            try:
                policy_from_queue(queue, {})
            except InvalidPolicy as exc:
                change.error = str(exc)
                change.save(update_fields=["error"])
                log.error(
                    "scheduled change %s for queue %s refused: %s", change.pk, queue.name, exc
                )
                continue
            queue.save(update_fields=["strategy", "strategy_parameters"])
            change.applied_at = now
            change.save(update_fields=["applied_at"])
            applied += 1
            log.info(
                "queue %s switched to %s (scheduled change %s)",
                queue.name,
                queue.strategy,
                change.pk,
            )
    return applied
