"""The catalogue's processing: each format's file opens with a standard decoder (Python's
`wave` for PCM, libsndfile for all) with the expected rate, encoding and duration; IMA ADPCM
is a quarter of PCM's size; a missing file is retried, then failed with the reason."""

from __future__ import annotations

import wave
from datetime import UTC, datetime, timedelta

import pytest
import soundfile

from recording.catalogue import process_new
from recording.models import Recording
from switchsim.wav import write_wav

SUBTYPE = {"pcm": "PCM_16", "alaw": "ALAW", "ulaw": "ULAW", "ima_adpcm": "IMA_ADPCM"}


def a_recording(tmp_path, fmt: str, seconds: float = 30.0, channels: int = 2) -> Recording:
    path = tmp_path / f"call-{fmt}.wav"
    write_wav(path, seconds, channels=channels)
    now = datetime.now(tz=UTC)
    return Recording.objects.create(
        switch="fs1",
        call_uuid=f"c-{fmt}",
        leg_uuid="l",
        ani="5550101",
        dnis="8131",
        started_at=now,
        ended_at=now,
        format=fmt,
        channels=channels,
        path=str(path),
        status=Recording.Status.PROCESSING,
    )


@pytest.mark.django_db
def test_every_format_is_what_it_says_and_adpcm_is_a_quarter_of_pcm(tmp_path):
    rows = {fmt: a_recording(tmp_path, fmt) for fmt in SUBTYPE}
    assert process_new() == 4
    sizes = {}
    for fmt, row in rows.items():
        row.refresh_from_db()
        assert row.status == Recording.Status.READY, row.error
        info = soundfile.info(row.file)
        assert (info.format, info.subtype, info.samplerate, info.channels) == (
            "WAV",
            SUBTYPE[fmt],
            8000,
            2,
        )
        assert abs(info.frames / info.samplerate - 30.0) < 0.1
        assert row.duration_seconds == pytest.approx(30.0, abs=0.1)
        assert len(row.sha256) == 64
        sizes[fmt] = row.size_bytes
    with wave.open(rows["pcm"].file) as w:  # PCM: the standard library reads it too
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 2)
    assert sizes["alaw"] == pytest.approx(sizes["pcm"] / 2, rel=0.01)
    assert sizes["ulaw"] == pytest.approx(sizes["pcm"] / 2, rel=0.01)
    assert sizes["ima_adpcm"] == pytest.approx(sizes["pcm"] / 4, rel=0.05)
    assert not (tmp_path / "call-alaw.wav").exists()  # the converted file replaced it


@pytest.mark.django_db
def test_a_missing_file_is_retried_then_failed_with_why(tmp_path):
    row = a_recording(tmp_path, "pcm")
    (tmp_path / "call-pcm.wav").unlink()
    assert process_new() == 0
    row.refresh_from_db()
    assert row.status == Recording.Status.PROCESSING  # the switch may still be writing it
    assert process_new(now=datetime.now(tz=UTC) + timedelta(minutes=5)) == 0
    row.refresh_from_db()
    assert row.status == Recording.Status.FAILED and "never appeared" in row.error


@pytest.mark.django_db
def test_trimming_makes_a_new_recording_and_keeps_the_original(tmp_path):
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    original = a_recording(tmp_path, "alaw", seconds=8.0)
    process_new()
    original.refresh_from_db()
    boss = APIClient()
    boss.force_authenticate(User.objects.create_superuser("boss", "b@example.com", "pw"))
    r = boss.post(f"/api/recordings/{original.pk}/trim/", {"start": 1.5, "end": 4.0}, format="json")
    assert r.status_code == 201, r.content
    trimmed = Recording.objects.get(pk=r.json()["id"])
    info = soundfile.info(trimmed.file)
    assert info.subtype == "ALAW" and info.channels == 2
    assert info.frames / info.samplerate == pytest.approx(2.5, abs=0.01)
    assert trimmed.trimmed_from == original and trimmed.duration_seconds == pytest.approx(2.5)
    original.refresh_from_db()
    assert (
        original.status == Recording.Status.READY and soundfile.info(original.file).frames == 64000
    )
    assert set(original.accesses.values_list("kind", flat=True)) == {"trim"}
    bad = boss.post(f"/api/recordings/{original.pk}/trim/", {"start": 5, "end": 99}, format="json")
    assert bad.status_code == 400 and "within 0–8.00 s" in bad.json()["detail"]
