"""Scheduled strategy changes (R-10): applied at their time, once, refused when invalid."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from icm.models import Queue, ScheduledQueueChange, Site
from icm.scheduled_changes import apply_due_changes
from icm.tasks import apply_scheduled_queue_changes


@pytest.fixture
def queue(db):
    site = Site.objects.create(code="sc", name="SC", sip_domain="sc.local")
    return Queue.objects.create(
        site=site, name="evening", display_name="Evening", strategy="longest_idle"
    )


def test_a_due_change_is_applied_once_and_a_future_one_waits(queue):
    now = timezone.now()
    due = ScheduledQueueChange.objects.create(
        queue=queue,
        apply_at=now - timedelta(seconds=1),
        strategy="ring_all",
        strategy_parameters={"ring_timeout": 15},
    )
    later = ScheduledQueueChange.objects.create(
        queue=queue, apply_at=now + timedelta(hours=1), strategy="round_robin"
    )
    assert apply_scheduled_queue_changes() == 1  # through the Celery task's code path
    queue.refresh_from_db()
    assert (queue.strategy, queue.strategy_parameters) == ("ring_all", {"ring_timeout": 15})
    due.refresh_from_db()
    assert due.applied_at is not None
    assert apply_due_changes() == 0  # running twice changes nothing
    assert apply_due_changes(now + timedelta(hours=2)) == 1
    later.refresh_from_db()
    queue.refresh_from_db()
    assert later.applied_at is not None and queue.strategy == "round_robin"


def test_an_invalid_change_is_refused_with_its_reason(queue):
    change = ScheduledQueueChange(
        queue=queue,
        apply_at=timezone.now(),
        strategy="ring_all",
        strategy_parameters={"occupancy_cap": 3},
    )
    with pytest.raises(ValidationError, match="occupancy_cap"):
        change.full_clean()
    change.save()  # saved anyway (e.g. through the API): refused when due, queue untouched
    assert apply_due_changes() == 0
    change.refresh_from_db()
    queue.refresh_from_db()
    assert "occupancy_cap" in change.error and queue.strategy == "longest_idle"
