"""Live listen in the browser (REC-3), the web's side: the tap registry and the reader of a
tap's growing file.

A supervisor's "Listen in browser" (supervision.actions, scope-checked and audited) asks icm
to tap the agent's call (icm's recording.live_listen) and registers the tap here, in Redis, under a
random id with its owner and file; only that user's socket (`/ws/listen/<tap>/`,
supervision.listen_consumer) may read it. `TapReader` follows the file the switch appends
to — 16-bit PCM, agent on the first channel, customer on the second — and `levels` gives
each channel's level (RMS, dBFS) of a block, the meter's input.
"""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from icm.bus.client import get_redis

KEY = "ipbx:live_tap:{}"
TTL = 2 * 3600  # s; a tap lasts at most an hour on the switch
SILENCE_DB = -90.0
_TAP = re.compile(r"[A-Za-z0-9_-]{8,64}")  # fullmatch only


def register(tap: str, owner: int, switch: str, started: dict[str, Any]) -> None:
    """Remember the tap icm started (its reply `started`) for its owner."""
    row = {
        "owner": owner,
        "switch": switch,
        "path": started["path"],
        "agent": started.get("agent", ""),
        "call_uuid": started.get("call_uuid", ""),
        "channels": started.get("channels", ["agent", "customer"]),
    }
    get_redis().set(KEY.format(tap), json.dumps(row), ex=TTL)


def lookup(tap: str) -> dict[str, Any] | None:
    raw = get_redis().get(KEY.format(tap)) if _TAP.fullmatch(tap) else None
    return json.loads(raw) if raw else None


def forget(tap: str) -> None:
    get_redis().delete(KEY.format(tap))


def levels(pcm: bytes, channels: int) -> list[float]:
    """Each channel's RMS level of interleaved 16-bit PCM, in dBFS (−90 for silence)."""
    frames = len(pcm) // (2 * channels)
    if frames == 0:
        return [SILENCE_DB] * channels
    samples = np.frombuffer(pcm[: frames * 2 * channels], dtype="<i2").astype(np.float64)
    samples = samples.reshape(frames, channels) / 32768.0
    rms = np.sqrt(np.mean(samples * samples, axis=0))
    return [round(max(SILENCE_DB, 20 * math.log10(r)) if r > 0 else SILENCE_DB, 1) for r in rms]


class BadTapFile(ValueError):
    """Not a 16-bit PCM WAV."""


class TapReader:
    """Reads the audio appended to a growing 16-bit PCM WAV, whole frames at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self.channels = 0
        self.rate = 0
        self.frames = 0

    def _open(self) -> bool:
        try:
            f = self.path.open("rb")
        except FileNotFoundError:
            return False
        head = f.read(12)
        if len(head) < 12:
            f.close()
            return False
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            f.close()
            raise BadTapFile(f"{self.path.name} is not a WAV file")
        while True:  # chunks up to "data": fmt first, maybe others (LIST …)
            chunk = f.read(8)
            if len(chunk) < 8:
                f.close()
                return False  # the header is not all written yet
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"data":
                break
            body = f.read(size + (size & 1))
            if len(body) < size:
                f.close()
                return False
            if name == b"fmt ":
                if size < 16:
                    f.close()
                    raise BadTapFile(f"{self.path.name}: a short fmt chunk")
                tag, self.channels, self.rate = struct.unpack("<HHI", body[:8])
                bits = struct.unpack("<H", body[14:16])[0]
                if tag != 1 or bits != 16:
                    f.close()
                    raise BadTapFile(f"{self.path.name}: not 16-bit PCM")
        if not self.channels:
            f.close()
            raise BadTapFile(f"{self.path.name}: no fmt chunk")
        self._file = f
        return True

    @property
    def opened(self) -> bool:
        return self._file is not None

    def read(self) -> bytes:
        """The whole frames appended since the last read (b"" when none, or not yet there)."""
        if self._file is None and not self._open():
            return b""
        assert self._file is not None
        frame = 2 * self.channels
        at = self._file.tell()
        data = self._file.read()
        whole = len(data) - len(data) % frame
        if whole < len(data):
            self._file.seek(at + whole)
        self.frames += whole // frame
        return data[:whole]

    def gone(self) -> bool:
        """The switch has closed and removed the tap's file."""
        return not self.path.exists()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
