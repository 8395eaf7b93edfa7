"""Uploaded voice prompts (IVR-1): checked to be a WAV the switch can play (linear PCM,
mono, 8/16/32/48 kHz, at most 10 minutes), stored under IVR_PROMPTS_DIR, played as
`prompt:<name>` (the voice front-end resolves it to the switch's path)."""

from __future__ import annotations

import io
import os
import re
import tempfile
import wave
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from ivr.models import Prompt

MAX_BYTES = 20 * 1024 * 1024
MAX_SECONDS = 600
RATES = (8000, 16000, 32000, 48000)
PREFIX = "prompt:"


class PromptRefused(ValueError):
    """An upload that is not a playable prompt; says why."""


def check_wav(data: bytes) -> tuple[float, int]:
    """(duration s, sample rate) of a playable WAV, else PromptRefused."""
    if len(data) > MAX_BYTES:
        raise PromptRefused(f"a prompt is at most {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        with wave.open(io.BytesIO(data)) as wav:
            channels, width, rate, frames = (
                wav.getnchannels(),
                wav.getsampwidth(),
                wav.getframerate(),
                wav.getnframes(),
            )
    except (wave.Error, EOFError) as exc:
        raise PromptRefused(f"not a WAV file: {exc}") from exc
    if channels != 1 or width != 2:
        raise PromptRefused("the WAV must be mono, 16-bit linear PCM")
    if rate not in RATES:
        raise PromptRefused(f"sample rate {rate} Hz: use one of {list(RATES)}")
    duration = frames / rate
    if not 0 < duration <= MAX_SECONDS:
        raise PromptRefused(f"a prompt lasts between 0 and {MAX_SECONDS} s")
    return duration, rate


def do_store_prompt(name: str, data: bytes, transcript: str, language: str, user: Any) -> Prompt:
    """Save (or replace) prompt `name`; the file is written before the row commits."""
    if not re.fullmatch(r"[-a-z0-9_]{1,64}", name):
        raise PromptRefused("a prompt name is lower-case letters, digits, - and _")
    duration, rate = check_wav(data)
    directory = Path(settings.IVR_PROMPTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    file_name = f"{name}.wav"
    handle, temporary_name = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    temporary = Path(temporary_name)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    try:
        prompt = _save_row(name, transcript, language, user, file_name, duration, rate)
        temporary.replace(directory / file_name)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return prompt


def _save_row(
    name: str, transcript: str, language: str, user: Any, file_name: str, duration: float, rate: int
) -> Prompt:
    with transaction.atomic():
        prompt, _ = Prompt.objects.update_or_create(
            name=name,
            defaults={
                "file_name": file_name,
                "duration_seconds": round(duration, 3),
                "sample_rate": rate,
                "transcript": transcript[:500],
                "language": language[:8],
                "uploaded_by": user if getattr(user, "is_authenticated", False) else None,
            },
        )
    return prompt


def switch_path(file: str) -> str:
    """What the switch plays for a node's `file`: `prompt:<name>` becomes the prompt's path
    as the switch sees it; anything else is played as given."""
    if not file.startswith(PREFIX):
        return file
    name = file[len(PREFIX) :]
    return f"{str(settings.IVR_PROMPTS_SWITCH_DIR).rstrip('/')}/{name}.wav"


def local_path(prompt: Prompt) -> Path:
    return Path(settings.IVR_PROMPTS_DIR) / prompt.file_name
