"""Retention (past its days a recording's file goes, unless under legal hold) and backup
to a second location (verified by checksum; a failed copy is retried, alarmed after three
tries and never counted as done); the storage page's figures."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from icm.models import SystemEvent
from recording.catalogue import process_new, sha256_of
from recording.lifecycle import apply_retention, backup_pending
from recording.models import BackupCopy, Recording, RecordingAccess
from recording.storage import figures
from switchsim.wav import write_wav


def ready(tmp_path, name: str, days_old: float = 0, retention=None, hold=False) -> Recording:
    path = tmp_path / f"{name}.wav"
    write_wav(path, 6.0)
    at = datetime.now(tz=UTC) - timedelta(days=days_old)
    row = Recording.objects.create(
        switch="fs1",
        call_uuid=name,
        leg_uuid="l",
        started_at=at,
        ended_at=at,
        format="pcm",
        channels=1,
        path=str(path),
        retention_days=retention,
        legal_hold=hold,
        status=Recording.Status.PROCESSING,
    )
    process_new()
    row.refresh_from_db()
    return row


@pytest.mark.django_db
def test_retention_deletes_old_files_but_not_under_legal_hold(tmp_path):
    old = ready(tmp_path, "old", days_old=31, retention=30)
    held = ready(tmp_path, "held", days_old=400, retention=30, hold=True)
    young = ready(tmp_path, "young", days_old=29, retention=30)
    kept = ready(tmp_path, "kept", days_old=900)  # no retention: kept
    assert apply_retention() == 1
    for row in (old, held, young, kept):
        row.refresh_from_db()
    assert old.status == Recording.Status.DELETED and not (tmp_path / "old.wav").exists()
    assert RecordingAccess.objects.filter(recording=old, kind="delete").exists()
    for row in (held, young, kept):
        assert row.status == Recording.Status.READY and os.path.exists(row.file)
    assert apply_retention() == 0  # nothing twice


@pytest.mark.django_db
def test_backup_is_verified_retried_and_alarmed(tmp_path, settings):
    archive = tmp_path / "archive"
    settings.IPBX_RECORDING_BACKUP = f"dir:{archive}"
    first = ready(tmp_path, "first")
    assert backup_pending() == (1, 0)
    copy = BackupCopy.objects.get(recording=first)
    assert copy.status == "ok" and sha256_of(copy.target_path()) == first.sha256
    assert backup_pending() == (0, 0)  # done once

    broken = ready(tmp_path, "broken")
    (tmp_path / "broken.wav").write_bytes(b"not what the catalogue fingerprinted")
    now = datetime.now(tz=UTC)
    for attempt in range(1, 4):
        assert backup_pending(now) == (0, 1)
        copy = BackupCopy.objects.get(recording=broken)
        assert copy.status == "failed" and copy.attempts == attempt
        assert "does not match" in copy.last_error
        assert backup_pending(now) == (0, 0)  # not before its retry time
        now = copy.next_try + timedelta(seconds=1)
    alarms = SystemEvent.objects.filter(alarm="backup", kind="alarm_raised")
    assert alarms.count() == 1 and "does not match" in alarms.get().text
    assert not BackupCopy.objects.filter(recording=broken, status="ok").exists()


@pytest.mark.django_db
def test_storage_figures(tmp_path, settings):
    settings.IPBX_RECORDINGS_DIR = tmp_path
    for n in range(3):
        ready(tmp_path, f"s{n}")
    f = figures()
    assert f["recordings"] == 3 and f["hours_stored"] == pytest.approx(18 / 3600, abs=0.001)
    pcm = next(x for x in f["by_format"] if x["format"] == "pcm")
    assert pcm["mb_per_hour"] == pytest.approx(57.6, rel=0.01)
    assert f["free_bytes"] > 0 and f["days_left"] is not None and f["hours_left"] > 0


@pytest.fixture
def s3_store(settings):
    """An S3-compatible object store over HTTP (moto's server), with a bucket "archive"."""
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    settings.IPBX_S3_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    settings.IPBX_S3_ACCESS_KEY, settings.IPBX_S3_SECRET_KEY = "ipbx", "ipbx-secret"
    settings.IPBX_S3_REGION = "us-east-1"
    client = boto3.client(
        "s3",
        endpoint_url=settings.IPBX_S3_ENDPOINT_URL,
        aws_access_key_id="ipbx",
        aws_secret_access_key="ipbx-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="archive")
    yield client
    server.stop()


@pytest.mark.django_db
def test_backup_to_an_s3_compatible_store_is_read_back_and_verified(tmp_path, settings, s3_store):
    import hashlib

    settings.IPBX_RECORDING_BACKUP = "s3:archive/recordings"
    row = ready(tmp_path, "to-s3")
    assert backup_pending() == (1, 0)
    copy = BackupCopy.objects.get(recording=row)
    assert copy.status == "ok" and copy.target.startswith("s3://archive/recordings/fs1/")
    key = copy.target.removeprefix("s3://archive/")
    stored = s3_store.get_object(Bucket="archive", Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == row.sha256
    # a store that refuses (no such bucket) is a failure, retried, never "ok"
    settings.IPBX_RECORDING_BACKUP = "s3:no-such-bucket"
    assert backup_pending() == (0, 1)
    failed = BackupCopy.objects.get(recording=row, location="s3:no-such-bucket")
    assert failed.status == "failed" and "failed" in failed.last_error and failed.next_try
