"""Call recording: uuid_record / record_session / record, RECORD_START and RECORD_STOP.

Owns where recordings are written (paths relative to --recordings-dir; unwritable absolute
paths are redirected there), the record_* channel variables and the WAV produced when a
recording stops (explicitly, at its time limit, or at hang-up).

As switch_ivr_record_session does, the channel's variables when the recording starts say
its shape: ``RECORD_STEREO`` (two channels: this leg's audio on the first, its partner's on
the second), ``record_sample_rate`` (default 8000). ``uuid_record <uuid> pause|resume <path>``
sets / clears the media bug's SMBF_PAUSE: no audio reaches the file while paused, so a paused
stretch is absent from it (``mask`` keeps the length; switchsim does not write its silence).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from switchsim.channel import Channel
from switchsim.switch import W_RECORD_START, W_RECORD_STOP, Switch
from switchsim.wav import RATE, write_wav

log = logging.getLogger(__name__)


def resolve_path(sw: Switch, path: str) -> Path:
    """Where a recording for ``path`` is really written."""
    p = Path(path)
    base = Path(sw.config.recordings_dir)
    if not p.is_absolute():
        return base / p
    parent = p.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if os.access(parent, os.W_OK):
            return p
    except OSError:
        pass
    log.warning("cannot write %s; writing it under %s instead", p, base)
    return base / p.name


def start_recording(sw: Switch, ch: Channel, path: str, limit: float | None = None) -> bool:
    if not ch.is_up or path in ch.recordings:
        return False
    stereo = ch.vars.get("RECORD_STEREO", "").lower() in ("true", "1", "yes", "on")
    try:
        rate = int(ch.vars.get("record_sample_rate") or RATE)
    except ValueError:
        rate = RATE
    rec = {"path": path, "start": time.monotonic(), "timer": None, "channels": 2 if stereo
           else 1, "rate": rate if rate in (8000, 16000, 32000, 48000) else RATE,
           "paused": 0.0, "paused_at": None}  # fmt: skip
    ch.recordings[path] = rec
    sw.chan_event(ch, "RECORD_START", W_RECORD_START, after=[("Record-File-Path", path)])
    if limit and limit > 0:
        loop = asyncio.get_running_loop()
        rec["timer"] = loop.call_later(
            limit, lambda: stop_recording(sw, ch, path, "success-maxtime")
        )
    return True


def stop_recording(sw: Switch, ch: Channel, path: str, cause: str | None = None) -> bool:
    if path == "all":
        return stop_all_recordings(sw, ch, cause) > 0
    rec = ch.recordings.pop(path, None)
    if rec is None:
        return False
    if rec["timer"] is not None:
        rec["timer"].cancel()
    now = time.monotonic()
    paused = rec["paused"] + (now - rec["paused_at"] if rec["paused_at"] is not None else 0.0)
    seconds = max(0.0, now - rec["start"] - paused)
    if cause is None:
        cause = "no-input-timeout" if not ch.is_up else "success-maxtime"
    finish(sw, ch, path, seconds, cause, rec["channels"], rec["rate"])
    return True


def pause_recording(sw: Switch, ch: Channel, path: str, on: bool) -> bool:
    """switch_ivr_record_session_pause: False when no such recording runs."""
    rec = ch.recordings.get(path)
    if rec is None:
        return False
    now = time.monotonic()
    if on and rec["paused_at"] is None:
        rec["paused_at"] = now
    elif not on and rec["paused_at"] is not None:
        rec["paused"] += now - rec["paused_at"]
        rec["paused_at"] = None
    return True


def finish(sw: Switch, ch: Channel, path: str, seconds: float, cause: str, channels: int = 1,
           rate: int = RATE) -> None:  # fmt: skip
    """Write the WAV, set record_* variables and fire RECORD_STOP."""
    real = resolve_path(sw, path)
    try:
        samples = write_wav(real, seconds, channels=channels, rate=rate)
        size = real.stat().st_size
    except OSError as exc:
        log.warning("recording %s failed: %s", real, exc)
        samples, size = 0, 0
    ch.vars["record_file_size"] = str(size)
    ch.vars["record_samples"] = str(samples)
    ch.vars["record_seconds"] = str(samples // rate)
    ch.vars["record_ms"] = str(samples * 1000 // rate)
    ch.vars["record_completion_cause"] = cause
    sw.chan_event(
        ch,
        "RECORD_STOP",
        W_RECORD_STOP,
        after=[("Record-File-Path", path), ("Record-Completion-Cause", cause)],
    )


def stop_all_recordings(sw: Switch, ch: Channel, cause: str | None = None) -> int:
    paths = list(ch.recordings)
    for path in paths:
        stop_recording(sw, ch, path, cause)
    return len(paths)
