"""WAV writing: real, playable 8 kHz 16-bit mono files of a given duration.

Owns the recording file format; the content is a quiet 440 Hz tone (or silence).
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 8000
_ONE_SECOND_TONE = b"".join(
    struct.pack("<h", int(1500 * math.sin(2 * math.pi * 440 * i / RATE))) for i in range(RATE)
)
_ONE_SECOND_SILENCE = b"\x00\x00" * RATE


def write_wav(path: Path, seconds: float, tone: bool = True) -> int:
    """Write ``seconds`` of audio to ``path``; returns the number of samples written."""
    samples = max(0, int(seconds * RATE))
    chunk = _ONE_SECOND_TONE if tone else _ONE_SECOND_SILENCE
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        remaining = samples
        while remaining > 0:
            n = min(remaining, RATE)
            w.writeframes(chunk[: n * 2])
            remaining -= n
    return samples
