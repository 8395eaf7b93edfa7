"""Celery tasks of recording (thin: each calls one function)."""

from celery import shared_task

from recording.catalogue import process_new
from recording.lifecycle import apply_retention, backup_pending
from recording.unfinished import settle_orphans


@shared_task(name="recording.process_new_recordings", acks_late=True, ignore_result=True)
def process_new_recordings() -> int:
    """Catalogue the recordings whose leg ended unseen by icm, then measure, convert and
    fingerprint the recordings the switch finished (leased rows: safe on several workers at
    once)."""
    settle_orphans()
    return process_new()


@shared_task(name="recording.apply_retention", acks_late=True, ignore_result=True)
def apply_retention_task() -> int:
    """Delete recordings past their retention (legal hold keeps them)."""
    return apply_retention()


@shared_task(name="recording.backup_recordings", acks_late=True, ignore_result=True)
def backup_recordings() -> list[int]:
    """Copy ready recordings to the backup locations, verified by checksum."""
    return list(backup_pending())
