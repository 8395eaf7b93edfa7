"""Uploaded prompts: a playable WAV is stored and named `prompt:<name>` in flows; anything
else is refused with the reason; a flow naming a missing prompt is not published; the voice
front-end plays the switch's path."""

from __future__ import annotations

import io
import wave

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from ivr.actions import check_publish
from ivr.engine.validation import FlowInvalid
from ivr.models import Flow, FlowVersion, Prompt
from ivr.prompts import switch_path

pytestmark = pytest.mark.django_db


def wav(seconds=1.0, rate=8000, channels=1, width=2):
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x00" * int(seconds * rate) * channels * width)
    out.seek(0)
    out.name = "welcome.wav"
    return out


@pytest.fixture
def admin(settings, tmp_path):
    settings.IVR_PROMPTS_DIR = tmp_path / "prompts"
    settings.IVR_PROMPTS_SWITCH_DIR = "/usr/share/freeswitch/sounds/ipbx"
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


def test_a_wav_is_stored_listed_and_played_back(admin, settings):
    r = admin.post(
        "/api/ivr/prompts/",
        {"name": "welcome", "file": wav(2.5), "transcript": "Welcome!"},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    assert r.json()["file"] == "prompt:welcome" and r.json()["duration_seconds"] == 2.5
    assert (settings.IVR_PROMPTS_DIR / "welcome.wav").read_bytes()[:4] == b"RIFF"
    assert [p["name"] for p in admin.get("/api/ivr/prompts/").json()] == ["welcome"]
    audio = admin.get("/api/ivr/prompts/welcome/audio/")
    assert audio.status_code == 200 and b"".join(audio.streaming_content)[:4] == b"RIFF"
    assert switch_path("prompt:welcome") == "/usr/share/freeswitch/sounds/ipbx/welcome.wav"
    assert switch_path("ivr/other.wav") == "ivr/other.wav"


@pytest.mark.parametrize(
    ("upload", "name", "message"),
    [
        (io.BytesIO(b"not a wav at all"), "x", "not a WAV file"),
        (wav(channels=2), "x", "mono, 16-bit"),
        (wav(width=1), "x", "mono, 16-bit"),
        (wav(rate=44100), "x", "sample rate 44100"),
        (wav(seconds=0), "x", "between 0 and 600"),
        (wav(), "Bad Name!", "lower-case"),
    ],
)
def test_unplayable_uploads_are_refused_with_the_reason(admin, upload, name, message):
    r = admin.post("/api/ivr/prompts/", {"name": name, "file": upload}, format="multipart")
    assert r.status_code == 400 and message in r.json()["detail"]
    assert not Prompt.objects.exists()


def test_uploading_needs_the_permission(admin):
    user = User.objects.create_user("viewer", password="pw")
    client = APIClient()
    client.force_authenticate(user)
    assert (
        client.post(
            "/api/ivr/prompts/", {"name": "x", "file": wav()}, format="multipart"
        ).status_code
        == 403
    )


def test_a_flow_naming_a_missing_prompt_is_not_published(admin):
    flow = Flow.objects.create(name="f")
    graph = {
        "start": "p",
        "nodes": {
            "p": {"type": "play", "file": "prompt:ghost", "exits": {"next": "h"}},
            "h": {"type": "hangup"},
        },
    }
    with pytest.raises(FlowInvalid, match="node p: there is no uploaded prompt named 'ghost'"):
        check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=graph))
    admin.post("/api/ivr/prompts/", {"name": "ghost", "file": wav()}, format="multipart")
    check_publish(FlowVersion.objects.create(flow=flow, number=2, graph=graph))


def test_replacing_an_existing_prompt_needs_the_change_permission(admin):
    from django.contrib.auth.models import Permission

    admin.post("/api/ivr/prompts/", {"name": "welcome", "file": wav(1.0)}, format="multipart")
    uploader = User.objects.create_user("uploader", password="pw")
    uploader.user_permissions.add(Permission.objects.get(codename="add_prompt"))
    client = APIClient()
    client.force_authenticate(uploader)
    r = client.post("/api/ivr/prompts/", {"name": "welcome", "file": wav(3.0)}, format="multipart")
    assert r.status_code == 403 and "change_prompt" in r.json()["detail"]
    assert Prompt.objects.get(name="welcome").duration_seconds == 1.0
    r = client.post("/api/ivr/prompts/", {"name": "other", "file": wav(3.0)}, format="multipart")
    assert r.status_code == 201
