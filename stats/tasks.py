"""Celery tasks of stats (thin: each calls one function)."""

from typing import Any

from celery import shared_task

from stats.aggregate import aggregate
from stats.costing import rate_new_legs


@shared_task(name="stats.aggregate", acks_late=True, ignore_result=True)
def aggregate_dirty_windows() -> dict[str, Any]:
    """Rebuild the interval tables' dirty windows (safe on several workers: one at a time)."""
    return aggregate()


@shared_task(name="stats.rate_legs", acks_late=True, ignore_result=True)
def rate_ended_legs() -> int:
    """Rate the trunk legs that ended since the last run (twice, or on two workers: once)."""
    return rate_new_legs()
