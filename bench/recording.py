"""Recording benchmarks: how many finished recordings the catalogue processes per second
(measure with libsndfile, SHA-256, save; BENCH_RECORDING_FILES files of
BENCH_RECORDING_SECONDS s each, stereo PCM as the switch writes them, in batches as Celery
runs it), and the storage one recorded hour takes in each format, measured from real files
(mono 8 kHz, the reference: PCM 16-bit ≈ 57.6 MB/h, A-law and µ-law half, IMA ADPCM a
quarter). Prints recording_catalogued_per_s, recording_pcm_mb_per_h,
recording_alaw_mb_per_h, recording_ulaw_mb_per_h, recording_adpcm_mb_per_h.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
django.setup()

from recording.catalogue import convert, process_new  # noqa: E402
from recording.models import Recording  # noqa: E402
from switchsim.wav import write_wav  # noqa: E402

FILES = int(os.environ.get("BENCH_RECORDING_FILES", "200"))
SECONDS = float(os.environ.get("BENCH_RECORDING_SECONDS", "30"))
SWITCH = "benchrec"


def catalogued_per_second(directory: Path) -> float:
    Recording.objects.filter(switch=SWITCH).delete()
    template = directory / "template.wav"
    write_wav(template, SECONDS, channels=2)
    now = datetime.now(tz=UTC)
    rows = []
    for n in range(FILES):
        path = directory / f"r{n}.wav"
        path.write_bytes(template.read_bytes())
        rows.append(
            Recording(
                switch=SWITCH,
                call_uuid=f"bench-{n}",
                leg_uuid="leg",
                started_at=now,
                ended_at=now,
                format="pcm",
                channels=2,
                path=str(path),
                status=Recording.Status.PROCESSING,
            )
        )
    Recording.objects.bulk_create(rows)
    started = time.perf_counter()
    done = 0
    while True:
        batch = process_new()
        if batch == 0:
            break
        done += batch
    elapsed = time.perf_counter() - started
    Recording.objects.filter(switch=SWITCH).delete()
    return done / elapsed if elapsed else 0.0


def mb_per_hour(directory: Path) -> dict[str, float]:
    pcm = directory / "hour-pcm.wav"
    write_wav(pcm, 600.0)  # 10 minutes, mono 8 kHz 16-bit
    sizes = {"pcm": pcm.stat().st_size}
    for fmt in ("alaw", "ulaw", "ima_adpcm"):
        out = directory / f"hour-{fmt}.wav"
        convert(pcm, out, fmt)
        sizes[fmt] = out.stat().st_size
    return {fmt: size * 6 / 1e6 for fmt, size in sizes.items()}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        directory = Path(tmp)
        rate = catalogued_per_second(directory)
        sizes = mb_per_hour(directory)
    out = sys.stdout
    out.write(
        f"recording_files: {FILES} stereo PCM files of {SECONDS:.0f} s catalogued "
        f"(measured, fingerprinted, saved)\n"
    )
    out.write(f"recording_catalogued_per_s: {rate:.1f}\n")
    out.write(f"recording_pcm_mb_per_h: {sizes['pcm']:.1f} MB\n")
    out.write(f"recording_alaw_mb_per_h: {sizes['alaw']:.1f} MB\n")
    out.write(f"recording_ulaw_mb_per_h: {sizes['ulaw']:.1f} MB\n")
    out.write(f"recording_adpcm_mb_per_h: {sizes['ima_adpcm']:.1f} MB\n")
    out.flush()


if __name__ == "__main__":
    main()
