"""Trimming a recording by time range (REC-2): a new catalogued recording of [start, end)
in the original's format, channels and rate; the original is kept. Logged on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import soundfile
from django.db import transaction

from recording.access import RecordingRefused, log, visible
from recording.catalogue import SUBTYPES, sha256_of
from recording.models import Recording, RecordingAccess
from supervision.roles import is_supervisor


class BadTrim(ValueError):
    """A range that does not fit the recording; the message says why."""


def trim(
    user: Any, recording_id: int, start: Any, end: Any, address: str | None = None
) -> Recording:
    if not is_supervisor(user):
        raise RecordingRefused("only team leaders and administrators edit recordings")
    original = visible(user).filter(pk=recording_id, status=Recording.Status.READY).first()
    if original is None:
        raise LookupError(f"no ready recording {recording_id} of yours")
    try:
        start_s, end_s = float(start), float(end)
    except (TypeError, ValueError) as exc:
        raise BadTrim("start and end are seconds (numbers)") from exc
    length = original.duration_seconds or 0.0
    if not 0 <= start_s < end_s <= length + 0.001:
        raise BadTrim(f"the range must lie within 0–{length:.2f} s and end after it starts")
    source = Path(original.file)
    target = source.with_name(f"{source.stem}.trim-{start_s:.2f}-{end_s:.2f}.wav")
    with soundfile.SoundFile(str(source)) as src:
        first, last = int(start_s * src.samplerate), min(int(end_s * src.samplerate), src.frames)
        src.seek(first)
        frames = src.read(last - first, dtype="int16", always_2d=True)
        soundfile.write(
            str(target), frames, src.samplerate, subtype=SUBTYPES[original.format], format="WAV"
        )
    info = soundfile.info(str(target))
    with transaction.atomic():
        copy = Recording.objects.create(
            switch=original.switch,
            call_uuid=original.call_uuid,
            leg_uuid=original.leg_uuid,
            call=original.call,
            ani=original.ani,
            dnis=original.dnis,
            agent=original.agent,
            queue=original.queue,
            customer=original.customer,
            policy=f"trim of recording {original.pk} ({start_s:.2f}–{end_s:.2f} s)",
            started_at=original.started_at,
            ended_at=original.ended_at,
            duration_seconds=round(info.frames / info.samplerate, 3),
            format=original.format,
            channels=info.channels,
            sample_rate=info.samplerate,
            size_bytes=target.stat().st_size,
            sha256=sha256_of(target),
            path=str(target),
            file=str(target),
            status=Recording.Status.READY,
            retention_days=original.retention_days,
            legal_hold=original.legal_hold,
            trimmed_from=original,
        )
        detail = f"{start_s:.2f}–{end_s:.2f} s"
        log(original, user, RecordingAccess.Kind.TRIM, address, f"{detail} → {copy.pk}")
        log(copy, user, RecordingAccess.Kind.TRIM, address, f"{detail} of {original.pk}")
    return copy
