"""The live-listen reader (REC-3) on files written the way the switch writes them: it waits
for a whole header, returns whole frames only, follows the file as it grows, refuses what it
cannot play, and measures each channel's level."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from supervision.listen import SILENCE_DB, BadTapFile, TapReader, levels
from switchsim.wav import GrowingWav


def test_it_follows_a_growing_stereo_file(tmp_path):
    path = tmp_path / "tap.wav"
    reader = TapReader(path)
    assert reader.read() == b"" and not reader.opened  # not there yet
    wav = GrowingWav(path, channels=2)
    assert reader.read() == b"" and reader.opened
    assert (reader.channels, reader.rate) == (2, 8000)
    wav.write_until(800)
    first = reader.read()
    assert len(first) == 800 * 4
    with path.open("ab") as f:  # half a frame: held back until it is whole
        f.write(b"\x01\x00")
    assert reader.read() == b""
    with path.open("ab") as f:
        f.write(b"\x02\x00")
    assert reader.read() == b"\x01\x00\x02\x00"
    assert reader.frames == 801
    assert not reader.gone()
    path.unlink()
    assert reader.gone()
    reader.close()


def test_a_header_written_in_pieces_and_other_chunks(tmp_path):
    path = tmp_path / "tap.wav"
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    head = b"RIFF\x00\x00\x00\x00WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    path.write_bytes(head[:20])
    reader = TapReader(path)
    assert reader.read() == b"" and not reader.opened
    path.write_bytes(
        head + b"LIST" + struct.pack("<I", 3) + b"abc\x00" + b"data\x00\x00\x00\x00" + b"\x05\x00"
    )
    assert reader.read() == b"\x05\x00" and reader.rate == 16000 and reader.channels == 1


def test_what_it_cannot_play(tmp_path):
    path = tmp_path / "tap.wav"
    path.write_bytes(b"OggS" + b"\x00" * 40)
    with pytest.raises(BadTapFile):
        TapReader(path).read()
    alaw = struct.pack("<HHIIHH", 6, 1, 8000, 8000, 1, 8)
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + struct.pack("<I", 16) + alaw + b"data")
    with pytest.raises(BadTapFile, match="16-bit PCM"):
        TapReader(path).read()


def test_levels_per_channel():
    t = np.arange(8000)
    left = (16384 * np.sin(2 * np.pi * 440 * t / 8000)).astype("<i2")
    right = np.zeros(8000, dtype="<i2")
    pcm = np.column_stack([left, right]).tobytes()
    agent, customer = levels(pcm, 2)
    assert abs(agent - 20 * math.log10(0.5 / math.sqrt(2))) < 0.1  # -9.0 dBFS
    assert customer == SILENCE_DB
    assert levels(b"", 2) == [SILENCE_DB, SILENCE_DB]
