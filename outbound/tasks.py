"""Celery tasks of outbound (thin: each calls one function)."""

from typing import Any

from celery import shared_task

from outbound.dialer import pace_all


@shared_task(name="outbound.pace", ignore_result=True)
def pace_campaigns() -> dict[str, Any]:
    """Beat wakes the pacer every second: each running campaign takes one step (one worker
    per campaign at a time)."""
    return pace_all()
