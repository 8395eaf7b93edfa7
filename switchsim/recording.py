"""Call recording: uuid_record / record_session / record, RECORD_START and RECORD_STOP.

Owns where recordings are written (paths relative to --recordings-dir; unwritable absolute
paths are redirected there), the record_* channel variables and the WAV produced when a
recording stops (explicitly, at its time limit, or at hang-up).

As switch_ivr_record_session does, the channel's variables when the recording starts say
its shape: ``RECORD_STEREO`` (two channels: this leg's audio on the first, its partner's on
the second), ``record_sample_rate`` (default 8000). ``uuid_record <uuid> pause|resume <path>``
sets / clears the media bug's SMBF_PAUSE: no audio reaches the file while paused, so a paused
stretch is absent from it (``mask`` keeps the length; switchsim does not write its silence).
``uuid_record <uuid> start <path> [<limit>] [{var=value,…}]``: the bracketed variables
(url-decoded, as mod_commands does) are looked up before the channel's own
(get_recording_var). The file grows as the call runs — audio appended every 0.1 s, as the
switch's recording thread does — so a live reader can follow it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from urllib.parse import unquote

from switchsim.channel import Channel
from switchsim.switch import W_RECORD_START, W_RECORD_STOP, Switch
from switchsim.wav import RATE, GrowingWav, write_wav

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


TICK = 0.1  # seconds between appends to a growing recording


def recording_vars(text: str) -> dict[str, str]:
    """``{a=1,b=2}`` (url-encoded or not) as a dict; anything else: none."""
    text = unquote(text.strip())
    if not (text.startswith("{") and text.endswith("}")):
        return {}
    pairs = (p.split("=", 1) for p in text[1:-1].split(",") if "=" in p)
    return {k.strip(): v.strip() for k, v in pairs}


def start_recording(
    sw: Switch,
    ch: Channel,
    path: str,
    limit: float | None = None,
    variables: dict[str, str] | None = None,
) -> bool:
    if not ch.is_up or path in ch.recordings:
        return False
    given = variables or {}

    def var(name: str) -> str:
        return given.get(name) or ch.vars.get(name, "")

    stereo = var("RECORD_STEREO").lower() in ("true", "1", "yes", "on")
    try:
        rate = int(var("record_sample_rate") or RATE)
    except ValueError:
        rate = RATE
    rate = rate if rate in (8000, 16000, 32000, 48000) else RATE
    channels = 2 if stereo else 1
    try:
        wav: GrowingWav | None = GrowingWav(resolve_path(sw, path), channels, rate)
    except OSError as exc:
        log.warning("recording %s cannot be written: %s", path, exc)
        wav = None
    rec = {
        "path": path,
        "start": time.monotonic(),
        "timer": None,
        "channels": channels,
        "rate": rate,
        "paused": 0.0,
        "paused_at": None,
        "wav": wav,
        "ticker": None,
    }
    ch.recordings[path] = rec
    sw.chan_event(ch, "RECORD_START", W_RECORD_START, after=[("Record-File-Path", path)])
    loop = asyncio.get_running_loop()
    if limit and limit > 0:
        rec["timer"] = loop.call_later(
            limit, lambda: stop_recording(sw, ch, path, "success-maxtime")
        )
    if wav is not None:
        _tick(loop, rec)
    return True


def _recorded(rec: dict, now: float) -> float:
    """Seconds of audio the file should hold at ``now`` (the paused stretches left out)."""
    until = rec["paused_at"] if rec["paused_at"] is not None else now
    return max(0.0, until - rec["start"] - rec["paused"])


def _tick(loop: asyncio.AbstractEventLoop, rec: dict) -> None:
    wav = rec["wav"]
    try:
        wav.write_until(int(_recorded(rec, time.monotonic()) * rec["rate"]))
    except OSError as exc:
        log.warning("recording %s: write failed: %s", rec["path"], exc)
    rec["ticker"] = loop.call_later(TICK, _tick, loop, rec)


def stop_recording(sw: Switch, ch: Channel, path: str, cause: str | None = None) -> bool:
    if path == "all":
        return stop_all_recordings(sw, ch, cause) > 0
    rec = ch.recordings.pop(path, None)
    if rec is None:
        return False
    for handle in (rec["timer"], rec["ticker"]):
        if handle is not None:
            handle.cancel()
    seconds = _recorded(rec, time.monotonic())
    if cause is None:
        cause = "no-input-timeout" if not ch.is_up else "success-maxtime"
    wav = rec["wav"]
    if wav is None:
        _stopped(sw, ch, path, 0, 0, cause, rec["rate"])
        return True
    try:
        wav.write_until(int(seconds * rec["rate"]))
        samples = wav.close()
        size = wav.path.stat().st_size
    except OSError as exc:
        log.warning("recording %s failed: %s", wav.path, exc)
        samples, size = 0, 0
    _stopped(sw, ch, path, samples, size, cause, rec["rate"])
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


def finish(
    sw: Switch,
    ch: Channel,
    path: str,
    seconds: float,
    cause: str,
    channels: int = 1,
    rate: int = RATE,
) -> None:
    """Write the WAV, set record_* variables and fire RECORD_STOP."""
    real = resolve_path(sw, path)
    try:
        samples = write_wav(real, seconds, channels=channels, rate=rate)
        size = real.stat().st_size
    except OSError as exc:
        log.warning("recording %s failed: %s", real, exc)
        samples, size = 0, 0
    _stopped(sw, ch, path, samples, size, cause, rate)


def _stopped(
    sw: Switch, ch: Channel, path: str, samples: int, size: int, cause: str, rate: int
) -> None:
    """The record_* variables and RECORD_STOP. ``cause`` "" is the `record` app
    (switch_ivr_record_file): no completion cause, but record_record_file_size."""
    if not cause:
        ch.vars["record_record_file_size"] = str(size)
    ch.vars["record_file_size"] = str(size)
    ch.vars["record_samples"] = str(samples)
    ch.vars["record_seconds"] = str(samples // rate)
    ch.vars["record_ms"] = str(samples * 1000 // rate)
    after = [("Record-File-Path", path)]
    if cause:
        ch.vars["record_completion_cause"] = cause
        after.append(("Record-Completion-Cause", cause))
    sw.chan_event(ch, "RECORD_STOP", W_RECORD_STOP, after=after)


def stop_all_recordings(sw: Switch, ch: Channel, cause: str | None = None) -> int:
    paths = list(ch.recordings)
    for path in paths:
        stop_recording(sw, ch, path, cause)
    return len(paths)
