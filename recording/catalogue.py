"""The recording catalogue's processing (REC-4, REC-8): a file the switch finished is measured
(duration, sample rate, channels — read back with libsndfile through `soundfile`), converted
to its policy's format (WAV A-law, µ-law or IMA ADPCM; linear PCM stays as written), and
fingerprinted (SHA-256, size). Rows are leased (`FOR UPDATE SKIP LOCKED`), so two workers
never process the same recording; a file not there yet is retried, and a file still missing
after MISSING_GRACE is marked failed with the reason.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import soundfile
from django.db import transaction

from recording.models import Recording

log = logging.getLogger(__name__)

SUBTYPES = {"pcm": "PCM_16", "alaw": "ALAW", "ulaw": "ULAW", "ima_adpcm": "IMA_ADPCM"}
BATCH = 50
MISSING_GRACE = timedelta(minutes=2)
BLOCK_FRAMES = 8000 * 30  # converted 30 s at a time: an hour-long call never sits in memory


class RecordingFileError(Exception):
    """The file cannot be read or converted; the message says why."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert(source: Path, target: Path, fmt: str) -> None:
    """Write `source` (any WAV libsndfile reads) to `target` as WAV in `fmt`."""
    subtype = SUBTYPES[fmt]
    try:
        with soundfile.SoundFile(str(source)) as src:
            if fmt == "ima_adpcm" and src.samplerate > 48000:
                raise RecordingFileError("IMA ADPCM needs a sample rate up to 48 kHz")
            with soundfile.SoundFile(
                str(target),
                "w",
                samplerate=src.samplerate,
                channels=src.channels,
                format="WAV",
                subtype=subtype,
            ) as out:
                for block in src.blocks(blocksize=BLOCK_FRAMES, dtype="int16"):
                    out.write(block)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise RecordingFileError(f"cannot convert {source.name}: {exc}") from exc


def process(recording: Recording) -> Recording:
    """Measure, convert and fingerprint one recording; saves it (ready, or failed with why)."""
    source = Path(recording.path)
    if not source.exists():
        raise FileNotFoundError(str(source))
    try:
        final = source
        if recording.format != "pcm":
            final = source.with_name(f"{source.stem}.{recording.format}.wav")
            convert(source, final, recording.format)
        info = soundfile.info(str(final))
    except (RecordingFileError, RuntimeError, soundfile.LibsndfileError) as exc:
        recording.status, recording.error = Recording.Status.FAILED, str(exc)[:300]
        recording.save(update_fields=["status", "error"])
        log.error("recording %s (call %s): %s", recording.pk, recording.call_uuid, exc)
        return recording
    if final != source:
        source.unlink(missing_ok=True)  # the converted file is the recording now
    recording.file = str(final)
    recording.duration_seconds = round(info.frames / info.samplerate, 3)
    recording.sample_rate, recording.channels = info.samplerate, info.channels
    recording.size_bytes = final.stat().st_size
    recording.sha256 = sha256_of(final)
    if recording.customer_id is None and recording.call_id is not None:
        recording.customer_id = recording.call.customer_id
    recording.status, recording.error = Recording.Status.READY, ""
    recording.save()
    log.info(
        "recording %s (call %s): %s, %.1f s, %d bytes",
        recording.pk,
        recording.call_uuid,
        recording.format,
        recording.duration_seconds,
        recording.size_bytes,
    )
    return recording


def process_new(now: datetime | None = None) -> int:
    """Process the recordings waiting for it (a batch); returns how many became ready."""
    now = now or datetime.now(tz=UTC)
    ready = 0
    with transaction.atomic():
        rows = list(
            Recording.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Recording.Status.PROCESSING)
            .select_related("call")
            .order_by("id")[:BATCH]
        )
        for recording in rows:
            try:
                done = process(recording)
            except FileNotFoundError:
                if recording.ended_at and now - recording.ended_at > MISSING_GRACE:
                    recording.status = Recording.Status.FAILED
                    recording.error = f"the switch's file {recording.path} never appeared"
                    recording.save(update_fields=["status", "error"])
                    log.error("recording %s: %s", recording.pk, recording.error)
                continue
            ready += done.status == Recording.Status.READY
    return ready
