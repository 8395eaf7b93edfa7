"""WAV writing: real, playable 16-bit PCM files of a given duration, mono or stereo.

Owns the recording file format; the content is a quiet tone (440 Hz for the channel's own
side, 660 Hz for the other side on the second channel of a stereo file) or silence.
``GrowingWav`` writes a file as a recording runs — the header first (sizes 0, as libsndfile
leaves them until it closes the file), the audio appended and flushed as time passes, the
sizes patched at the end — so a reader can follow a live recording (REC-3).
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path
from typing import BinaryIO

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


def write_wav(
    path: Path, seconds: float, tone: bool = True, channels: int = 1, rate: int = RATE
) -> int:
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


def _chunk(rate: int, channels: int, tone: bool) -> bytes:
    key = (rate, channels, tone)
    if key not in _cache:
        _cache[key] = _second(rate, channels, tone)
    return _cache[key]


class GrowingWav:
    """A 16-bit PCM WAV written frame by frame; the tone's phase runs on across writes."""

    def __init__(self, path: Path, channels: int = 1, rate: int = RATE, tone: bool = True):
        self.path, self.channels, self.rate = path, channels, rate
        self.frames = 0
        self._chunk = _chunk(rate, channels, tone)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = path.open("wb")
        self._file.write(self._header(0))
        self._file.flush()

    def _header(self, frames: int) -> bytes:
        size = frames * 2 * self.channels
        return struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF",
            36 + size,
            b"WAVE",
            b"fmt ",
            16,
            1,
            self.channels,
            self.rate,
            self.rate * 2 * self.channels,
            2 * self.channels,
            16,
            b"data",
            size,
        )

    def write_until(self, frames: int) -> None:
        """Append audio up to ``frames`` frames in all (nothing when already there)."""
        f = self._file
        if f is None or frames <= self.frames:
            return
        frame = 2 * self.channels
        while self.frames < frames:
            at = self.frames % self.rate
            n = min(frames - self.frames, self.rate - at)
            f.write(self._chunk[at * frame : (at + n) * frame])
            self.frames += n
        f.flush()

    def close(self) -> int:
        """Patch the sizes and close; the number of frames written."""
        f = self._file
        if f is not None:
            self._file = None
            f.seek(0)
            f.write(self._header(self.frames))
            f.close()
        return self.frames
