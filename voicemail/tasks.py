"""Celery tasks of voicemail (thin: each calls one function)."""

from celery import shared_task

from voicemail.delivery import deliver_pending
from voicemail.retention import apply_retention


@shared_task(name="voicemail.deliver_pending", acks_late=True, ignore_result=True)
def deliver_pending_task() -> int:
    """Email the new messages icm could not (leased rows: safe on several workers)."""
    return deliver_pending()


@shared_task(name="voicemail.apply_retention", acks_late=True, ignore_result=True)
def apply_retention_task() -> list[int]:
    """Delete messages past their mailbox's retention, and the files nothing holds."""
    return list(apply_retention())
