"""The recordings' storage lifecycle (REC-7, REC-10): retention — a recording past its
policy's days is deleted unless under legal hold — and backup to a second location, verified
by checksum: a copy whose SHA-256 differs from the catalogue's is not a backup. A failed copy
is retried with a growing delay and raises a "backup" alarm in the system event history;
it never counts as done. Every deletion and copy is in the recording's operation log.

Backup locations (`IPBX_RECORDING_BACKUP`, comma separated): `dir:/path` — a directory
(a mounted archive disk or share) — or `s3:<bucket>/<prefix>` — an S3-compatible object store
(`IPBX_S3_ENDPOINT_URL`, `IPBX_S3_ACCESS_KEY`, `IPBX_S3_SECRET_KEY`, `IPBX_S3_REGION`; boto3):
the object is read back and hashed, so only what the store really holds counts. Rows are
leased (`FOR UPDATE SKIP LOCKED`): several workers never copy the same recording at once.
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Value

from icm.models import SystemEvent
from recording.catalogue import sha256_of
from recording.models import BackupCopy, Recording, RecordingAccess

log = logging.getLogger(__name__)
BATCH = 100
MAX_DELAY = timedelta(hours=1)
DAY = timedelta(days=1)
ALARM_AFTER = 3  # failed attempts in a row before the alarm


class BackupFailed(Exception):
    """A copy that is missing or does not match; the message says why."""


def locations() -> list[str]:
    raw = getattr(settings, "IPBX_RECORDING_BACKUP", "") or ""
    return [loc.strip() for loc in raw.split(",") if loc.strip()]


def apply_retention(now: datetime | None = None) -> int:
    """Delete the files of recordings past retention (not under legal hold)."""
    now = now or datetime.now(tz=UTC)
    deleted = 0
    with transaction.atomic():
        expires = ExpressionWrapper(
            F("started_at") + F("retention_days") * Value(DAY), output_field=DateTimeField()
        )
        due = (
            Recording.objects.select_for_update(skip_locked=True)
            .filter(status=Recording.Status.READY, legal_hold=False, retention_days__isnull=False)
            .annotate(expires=expires)
            .filter(expires__lt=now)
        )[:BATCH]
        for recording in due:
            for name in {recording.file, recording.path} - {""}:
                path = Path(name)
                path.unlink(missing_ok=True)
                path.with_name(f"{path.stem}.play.wav").unlink(missing_ok=True)
            recording.status, recording.file = Recording.Status.DELETED, ""
            recording.save(update_fields=["status", "file"])
            RecordingAccess.objects.create(
                recording=recording,
                username="retention",
                kind=RecordingAccess.Kind.DELETE,
                detail=f"{recording.retention_days} days",
            )
            deleted += 1
    if deleted:
        log.info("retention: %d recordings deleted", deleted)
    return deleted


def _copy_to(location: str, recording: Recording) -> str:
    """Copy the recording to `location`; returns where. Raises BackupFailed."""
    kind, _, where = location.partition(":")
    source = Path(recording.file or recording.path)
    if kind == "s3" and where:
        return _copy_to_s3(where, source, recording)
    if kind != "dir" or not where:
        raise BackupFailed(f"unknown backup location {location!r} (dir:/path or s3:bucket/prefix)")
    target = Path(where) / recording.switch / f"{recording.started_at:%Y/%m/%d}" / source.name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied = sha256_of(target)
    except OSError as exc:
        raise BackupFailed(f"copy to {target} failed: {exc}") from exc
    if copied != recording.sha256:
        raise BackupFailed(
            f"the copy at {target} does not match (sha256 {copied[:12]}… ≠ "
            f"{recording.sha256[:12]}…)"
        )
    return str(target)


def _s3_client():
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=settings.IPBX_S3_ENDPOINT_URL or None,
        aws_access_key_id=settings.IPBX_S3_ACCESS_KEY or None,
        aws_secret_access_key=settings.IPBX_S3_SECRET_KEY or None,
        region_name=settings.IPBX_S3_REGION or None,
    )


def _copy_to_s3(where: str, source: Path, recording: Recording) -> str:
    import hashlib

    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = where.partition("/")
    key = "/".join(
        p
        for p in (
            prefix.strip("/"),
            recording.switch,
            f"{recording.started_at:%Y/%m/%d}",
            source.name,
        )
        if p
    )
    try:
        client = _s3_client()
        client.upload_file(str(source), bucket, key)
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        for block in iter(lambda: body.read(1 << 20), b""):
            digest.update(block)
    except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
        raise BackupFailed(f"upload to s3://{bucket}/{key} failed: {exc}") from exc
    if digest.hexdigest() != recording.sha256:
        raise BackupFailed(f"the object s3://{bucket}/{key} does not match the catalogue")
    return f"s3://{bucket}/{key}"


def backup_pending(now: datetime | None = None) -> tuple[int, int]:
    """Copy the ready recordings not yet backed up to each location; (done, failed)."""
    now = now or datetime.now(tz=UTC)
    done = failed = 0
    for location in locations():
        with transaction.atomic():
            copies = {
                c.recording_id: c
                for c in BackupCopy.objects.select_for_update(skip_locked=True).filter(
                    location=location
                )
            }
            ok = BackupCopy.objects.filter(location=location, status=BackupCopy.Status.OK)
            not_due = BackupCopy.objects.filter(location=location, next_try__gt=now)
            pending = (
                Recording.objects.filter(status=Recording.Status.READY)
                .exclude(pk__in=ok.values("recording_id"))
                .exclude(pk__in=not_due.values("recording_id"))
                .order_by("id")[:BATCH]
            )
            for recording in pending:
                copy = copies.get(recording.pk) or BackupCopy(
                    recording=recording, location=location
                )
                try:
                    copy.target = _copy_to(location, recording)
                except BackupFailed as exc:
                    _failed(copy, recording, str(exc), now)
                    failed += 1
                    continue
                copy.status, copy.sha256 = BackupCopy.Status.OK, recording.sha256
                copy.copied_at, copy.last_error, copy.next_try = now, "", None
                copy.save()
                RecordingAccess.objects.create(
                    recording=recording,
                    username="backup",
                    kind=RecordingAccess.Kind.BACKUP,
                    detail=f"{location}: {copy.target}"[:300],
                )
                done += 1
    return done, failed


def _failed(copy: BackupCopy, recording: Recording, why: str, now: datetime) -> None:
    copy.status, copy.last_error = BackupCopy.Status.FAILED, why[:300]
    copy.attempts += 1
    copy.next_try = now + min(MAX_DELAY, timedelta(seconds=30) * 2 ** (copy.attempts - 1))
    copy.save()
    log.error(
        "backup of recording %s to %s failed (attempt %d): %s",
        recording.pk,
        copy.location,
        copy.attempts,
        why,
    )
    if copy.attempts == ALARM_AFTER:
        SystemEvent.objects.create(
            at=now,
            switch=recording.switch,
            kind="alarm_raised",
            alarm="backup",
            subject=copy.location[:128],
            severity="critical",
            text=f"recording backup failing: {why}"[:300],
        )
