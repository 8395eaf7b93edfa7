"""Voicemail retention (IVR-7), like recordings' (REC-7): a message older than its mailbox's
`retention_days` (else IPBX_VOICEMAIL_RETENTION_DAYS) is deleted, and the file of a deleted
message goes once no message still in a mailbox holds it (a forward shares its original's
file). Rows are leased (`FOR UPDATE SKIP LOCKED`) as recording.lifecycle does: several
workers never delete the same file; each deletion is in the message's operation log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Value
from django.db.models.functions import Coalesce

from voicemail.models import VoicemailAccess, VoicemailMessage

log = logging.getLogger(__name__)
BATCH = 200
DAY = timedelta(days=1)


def apply_retention(now: datetime | None = None) -> tuple[int, int]:
    """(messages deleted by age, files removed)."""
    now = now or datetime.now(tz=UTC)
    default = int(settings.IPBX_VOICEMAIL_RETENTION_DAYS)
    expired = 0
    with transaction.atomic():
        days = Coalesce(F("mailbox__retention_days"), Value(default))
        expires = ExpressionWrapper(
            F("received_at") + days * Value(DAY), output_field=DateTimeField()
        )
        due = (
            VoicemailMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(deleted_at__isnull=True)
            .annotate(expires=expires)
            .filter(expires__lt=now)
        )[:BATCH]
        for message in due:
            message.deleted_at, message.deleted_by = now, "retention"
            message.save(update_fields=["deleted_at", "deleted_by"])
            VoicemailAccess.objects.create(
                message=message, username="retention", kind=VoicemailAccess.Kind.DELETE
            )
            expired += 1
    removed = remove_files()
    if expired or removed:
        log.info("voicemail retention: %d messages deleted, %d files removed", expired, removed)
    return expired, removed


def remove_files() -> int:
    """Remove the files only deleted messages hold."""
    removed = 0
    with transaction.atomic():
        rows = VoicemailMessage.objects.select_for_update(skip_locked=True).filter(
            deleted_at__isnull=False
        )
        paths = set(rows.exclude(path="").values_list("path", flat=True)[:BATCH])
        held = set(
            VoicemailMessage.objects.filter(path__in=paths, deleted_at__isnull=True).values_list(
                "path", flat=True
            )
        )
        for path in paths - held:
            Path(path).unlink(missing_ok=True)
            VoicemailMessage.objects.filter(path=path, deleted_at__isnull=False).update(path="")
            removed += 1
    return removed
