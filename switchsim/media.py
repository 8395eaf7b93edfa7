"""Media applications: playback, play_and_get_digits, read, record, speak, sleep.

Owns simulated media timing (how long a prompt "plays": tone_stream/silence_stream lengths
from their spec, ``--playback-seconds`` for ordinary files, ``--local-stream-seconds`` for
music on hold), PLAYBACK_START/STOP, and DTMF collection from the channel's digit buffer
(filled by the simulated caller or by DTMF arriving from a loopback peer).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from switchsim.avmd import heard_tone
from switchsim.channel import Channel
from switchsim.recording import finish
from switchsim.session import wait, wait_until
from switchsim.sounds import file_exists
from switchsim.switch import W_PLAYBACK_START, W_PLAYBACK_STOP, W_RECORD_START, Switch

log = logging.getLogger(__name__)
FILE_NOT_FOUND = "FILE NOT FOUND"
_TONE_SEGMENT = re.compile(r"%\((\d+),(\d+)")


def speech_seconds(text: str, default: float) -> float:
    """How long TTS takes to say `text` (about 60 ms a character, at most 10 s)."""
    return min(10.0, 0.06 * len(text)) or default


_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "s": " "}


def separate(arg: str) -> list[str]:
    """Split application arguments on blanks as FreeSWITCH's switch_separate_string does:
    'single quotes' group words (and are removed); a backslash escapes a quote, a blank or
    itself, and \\n \\r \\t \\s are unescaped (any other backslash stays, as in `\\d+`)."""
    out: list[str] = []
    current: list[str] = []
    quoted = started = False
    i = 0
    while i < len(arg):
        ch = arg[i]
        nxt = arg[i + 1] if i + 1 < len(arg) else ""
        if ch == "\\" and nxt and nxt in "'\" \\nrts":
            current.append(_UNESCAPE.get(nxt, nxt))
            started, i = True, i + 2
            continue
        if ch == "'" and (quoted or "'" in arg[i + 1 :]):
            quoted, started = not quoted, True
        elif ch == " " and not quoted:
            if started:
                out.append("".join(current))
            current, started = [], False
        else:
            current.append(ch)
            started = True
        i += 1
    if started:
        out.append("".join(current))
    return out


def media_seconds(path: str, default: float) -> float | None:
    """How long a sound spec plays; None means forever (until interrupted)."""
    path = path.strip()
    if path.startswith("say:"):
        return speech_seconds(path[4:], default)
    if path.startswith("file_string://"):
        total = 0.0
        for part in path[len("file_string://") :].split("!"):
            d = media_seconds(part, default)
            if d is None:
                return None
            total += d
        return total
    if path.startswith("tone_stream://"):
        loops = 1
        m = re.search(r"loops=(-?\d+)", path)
        if m:
            loops = int(m.group(1))
        if loops < 0:
            return None
        ms = sum(int(on) + int(off) for on, off in _TONE_SEGMENT.findall(path))
        return ms * max(loops, 1) / 1000.0
    if path.startswith("silence_stream://"):
        try:
            ms = int(path[len("silence_stream://") :].split(",")[0])
        except ValueError:
            return default
        return None if ms <= 0 else ms / 1000.0
    return default


def _file_info(path: str) -> list[tuple[str, str]]:
    """Playback-File-Type (the file's format module; none for silence_stream://, which is
    no file module, as captured) and Playback-File-Path."""
    m = re.match(r"^([a-z_]+)://", path)
    kind = m.group(1) if m else "native"
    if kind == "silence_stream":
        return [("Playback-File-Path", path)]
    return [("Playback-File-Type", kind), ("Playback-File-Path", path)]


async def play(sw: Switch, ch: Channel, path: str, interrupt_on_dtmf: bool = False) -> str:
    """Play one file: PLAYBACK_START, wait its length, PLAYBACK_STOP; returns the response.
    A file that cannot be opened fires nothing and answers FILE NOT FOUND at once
    (switch_ivr_play_file returns SWITCH_STATUS_NOTFOUND before PLAYBACK_START)."""
    if not file_exists(sw, ch, path):
        log.error("%s: can't open file %s: FILE NOT FOUND", ch.name, path)
        return FILE_NOT_FOUND
    info = _file_info(path)
    sw.chan_event(ch, "PLAYBACK_START", W_PLAYBACK_START, after=info)
    heard_tone(sw, ch, path)  # a beep for mod_avmd on whoever hears this channel
    seconds = media_seconds(path, sw.config.playback_seconds)
    stream = sw.config.local_stream_seconds
    if path.startswith("local_stream://") and stream is not None:
        seconds = stream if stream > 0 else None  # FreeSWITCH's music never ends by itself
    started = time.monotonic()
    if interrupt_on_dtmf:
        done = await wait_until(ch, lambda: bool(ch.dtmf), seconds, media=True)
        completed = done is not False
    else:
        completed = await wait(ch, seconds, media=True)
    elapsed = time.monotonic() - started if not completed or seconds is None else seconds
    samples = int(elapsed * 8000)
    ch.vars["playback_last_offset_pos"] = str(samples)
    ch.vars["playback_seconds"] = str(int(elapsed))
    ch.vars["playback_ms"] = str(int(elapsed * 1000))
    ch.vars["playback_samples"] = str(samples)
    status = "break" if ch.media_break else "done"
    ch.media_break = False
    sw.chan_event(ch, "PLAYBACK_STOP", W_PLAYBACK_STOP, after=[*info, ("Playback-Status", status)])
    if completed or ch.is_up and not ch.pending_hangup and status == "break":
        return "FILE PLAYED"
    return "PLAYBACK ERROR"


async def app_playback(sw: Switch, ch: Channel, arg: str) -> str:
    if not ch.times["answered"] and not ch.times["progress_media"]:
        sw.pre_answer(ch)
    return await play(sw, ch, arg)


async def app_endless_playback(sw: Switch, ch: Channel, arg: str) -> str:
    """endless_playback: play the file again and again until hang-up or a break."""
    if not ch.times["answered"] and not ch.times["progress_media"]:
        sw.pre_answer(ch)
    while True:
        response = await play(sw, ch, arg)
        if response != "FILE PLAYED" or not ch.is_up or ch.break_flag:
            return response
        await asyncio.sleep(0)  # a zero-length file must not spin the loop


async def collect(
    sw: Switch,
    ch: Channel,
    min_digits: int,
    max_digits: int,
    first_timeout: float,
    digit_timeout: float,
    terminators: str,
) -> tuple[str, str]:
    """Take digits from the buffer: returns (digits, terminator used)."""
    digits = ""
    timeout = first_timeout
    while ch.is_up and len(digits) < max_digits:
        ok = await wait_until(ch, lambda: bool(ch.dtmf), timeout)
        if not ok:
            break
        d = ch.dtmf.popleft()
        if d in terminators:
            return digits, d
        digits += d
        timeout = digit_timeout
    return digits, ""


def _ask_caller(ch: Channel, max_digits: int, terminators: str) -> None:
    if ch.on_collect is not None:
        ch.on_collect(ch, max_digits, terminators)


async def app_play_and_get_digits(sw: Switch, ch: Channel, arg: str) -> str | None:
    a = separate(arg)
    if len(a) < 8:
        return None
    try:
        mn, mx, tries, timeout = int(a[0]), int(a[1]), int(a[2]), int(a[3]) / 1000.0
    except ValueError:
        return None
    terminators = "" if a[4] == "none" else a[4]
    prompt, invalid, var = a[5], a[6], a[7]
    regex = a[8] if len(a) > 8 else r"\d+"
    digit_timeout = int(a[9]) / 1000.0 if len(a) > 9 and a[9].isdigit() else timeout
    transfer_on_failure = a[10] if len(a) > 10 else ""
    for _ in range(max(tries, 1)):
        if not ch.is_up:
            return None
        # switch_ivr_read starts by clearing read_result and the digits variable
        ch.vars.pop("read_result", None)
        ch.vars.pop(var, None)
        if not file_exists(sw, ch, prompt):
            # switch_ivr_read gives up before collecting anything (read_result untouched);
            # switch_play_and_get_digits plays the invalid file and tries again
            log.error("%s: can't open file %s: FILE NOT FOUND", ch.name, prompt)
            if invalid and invalid != "silence_stream://0" and ch.is_up:
                await play(sw, ch, invalid)
            continue
        _ask_caller(ch, mx, terminators)
        await play(sw, ch, prompt, interrupt_on_dtmf=True)
        digits, term = await collect(sw, ch, mn, mx, timeout, digit_timeout, terminators)
        if term:
            ch.vars["read_terminator_used"] = term
        ch.set_var(
            var, digits
        )  # a bad entry stays in the variable (outbound-ivr.txt: ivr_digits=9)
        if len(digits) >= mn and digits and _matches(regex, digits):
            ch.vars["read_result"] = "success"
            return None
        # no input or an invalid entry: "failure" (not "timeout"), then the invalid file
        ch.vars["read_result"] = "failure"
        if invalid and invalid != "silence_stream://0" and ch.is_up:
            await play(sw, ch, invalid)
    if transfer_on_failure and ch.is_up:
        parts = transfer_on_failure.split()
        ch.transfer_to = (
            parts[0],
            parts[1] if len(parts) > 1 else "XML",
            parts[2] if len(parts) > 2 else ch.profile.context,
        )
    return None


def _matches(regex: str, digits: str) -> bool:
    try:
        return re.search(regex, digits) is not None
    except re.error:
        return True


async def app_read(sw: Switch, ch: Channel, arg: str) -> str | None:
    """read <min> <max> <file> <var> <timeout ms> <terminators>"""
    a = separate(arg)
    if len(a) < 4:
        return None
    mn, mx, prompt, var = int(a[0]), int(a[1]), a[2], a[3]
    timeout = int(a[4]) / 1000.0 if len(a) > 4 else 5.0
    terminators = a[5] if len(a) > 5 else "#"
    ch.vars.pop("read_result", None)  # switch_ivr_read clears both first
    ch.vars.pop(var, None)
    if not file_exists(sw, ch, prompt):  # switch_ivr_read: `goto end`, nothing collected
        log.error("%s: can't open file %s: FILE NOT FOUND", ch.name, prompt)
        return None
    _ask_caller(ch, mx, terminators)
    await play(sw, ch, prompt, interrupt_on_dtmf=True)
    digits, term = await collect(sw, ch, mn, mx, timeout, timeout, terminators)
    if term:
        ch.vars["read_terminator_used"] = term
    # a read that times out ends "failure" (outbound-ivr.txt), not "timeout"
    ch.vars["read_result"] = "success" if len(digits) >= mn and digits else "failure"
    ch.set_var(var, digits)
    return None


async def app_record(sw: Switch, ch: Channel, arg: str) -> str | None:
    """record <path> [limit secs]: the caller "speaks" for record_seconds (scenario) or 3 s."""
    a = arg.split()
    if not a:
        return None
    path = a[0]
    limit = float(a[1]) if len(a) > 1 and a[1].replace(".", "", 1).isdigit() else None
    speak_for = getattr(ch.caller, "record_seconds", 3.0) if ch.caller else 3.0
    if limit:
        # switch_ivr_record_file compares whole epoch seconds (now - start > limit): `record
        # <path> 2` wrote 2.8 s in outbound-ivr.txt
        limit = int(limit) + 1 - (time.time() % 1)
    seconds = min(speak_for, limit) if limit else speak_for
    ch.vars["silence_hits_exhausted"] = "false"
    sw.chan_event(ch, "RECORD_START", W_RECORD_START, after=[("Record-File-Path", path)])
    started = time.monotonic()
    completed = await wait(ch, seconds, media=True)
    elapsed = seconds if completed else time.monotonic() - started
    finish(sw, ch, path, elapsed, "")  # the record app reports no completion cause
    return None


async def app_sleep(sw: Switch, ch: Channel, arg: str) -> str | None:
    try:
        ms = int(arg.strip() or "0")
    except ValueError:
        ms = 0
    await wait(ch, ms / 1000.0)
    return None


async def app_speak(sw: Switch, ch: Channel, arg: str) -> str | None:
    """speak <engine>|<voice>|<text> (mod_flite in production)."""
    text = arg.split("|", 2)[-1]
    await wait(ch, speech_seconds(text, sw.config.playback_seconds), media=True)
    ch.media_break = False
    return None


async def app_say(sw: Switch, ch: Channel, arg: str) -> str | None:
    """say <module[:lang]> <type> <method> [gender] <text> (mod_say_en): about 0.4 s a word
    of the spoken value."""
    parts = arg.split()
    value = parts[-1] if len(parts) >= 4 else ""
    words = len(value.replace(".", " ").split()) + len(value) // 3
    await wait(ch, min(8.0, 0.4 * max(1, words)), media=True)
    ch.media_break = False
    return None
