"""A recording's waveform for the player: the peak level of each of N slices, per channel
(0..1), read block by block with libsndfile (an hour-long call never sits in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile


def peaks(path: Path, points: int = 600) -> dict[str, Any]:
    info = soundfile.info(str(path))
    per_slice = max(1, info.frames // points)
    channels: list[list[float]] = [[] for _ in range(info.channels)]
    with soundfile.SoundFile(str(path)) as f:
        for block in f.blocks(blocksize=per_slice, dtype="float32", always_2d=True):
            top = np.abs(block).max(axis=0)
            for c in range(info.channels):
                channels[c].append(round(float(top[c]), 3))
    return {
        "duration": round(info.frames / info.samplerate, 3),
        "channels": channels,
        "sample_rate": info.samplerate,
    }
