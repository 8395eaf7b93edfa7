"""Celery tasks of icm (thin: each calls one function)."""

from celery import shared_task

from icm.scheduled_changes import apply_due_changes


@shared_task(name="icm.apply_scheduled_queue_changes")
def apply_scheduled_queue_changes() -> int:
    return apply_due_changes()
