"""WAV writing: real, playable 16-bit PCM files of a given duration, mono or stereo.

Owns the recording file format; the content is a quiet tone (440 Hz for the channel's own
side, 660 Hz for the other side on the second channel of a stereo file) or silence.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 8000


def _tone(freq: int, rate: int) -> list[int]:
    return [int(1500 * math.sin(2 * math.pi * freq * i / rate)) for i in range(rate)]


def _second(rate: int, channels: int, tone: bool) -> bytes:
    """One second of audio, interleaved."""
    if not tone:
        return b"\x00\x00" * rate * channels
    sides = [_tone(440, rate), _tone(660, rate)][:channels]
    return b"".join(struct.pack("<" + "h" * channels, *(s[i] for s in sides)) for i in range(rate))


_cache: dict[tuple[int, int, bool], bytes] = {}


def write_wav(path: Path, seconds: float, tone: bool = True, channels: int = 1,
              rate: int = RATE) -> int:  # fmt: skip
    """Write ``seconds`` of audio to ``path``; returns the number of samples (frames)."""
    samples = max(0, int(seconds * rate))
    key = (rate, channels, tone)
    if key not in _cache:
        _cache[key] = _second(rate, channels, tone)
    chunk = _cache[key]
    frame = 2 * channels
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        remaining = samples
        while remaining > 0:
            n = min(remaining, rate)
            w.writeframes(chunk[: n * frame])
            remaining -= n
    return samples
