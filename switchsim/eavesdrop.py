"""The ``eavesdrop <uuid>`` application (mod_dptools eavesdrop_function and
switch_ivr_eavesdrop_session, switch_ivr_async.c).

Owns reading the eavesdropper's ``eavesdrop_*`` variables into an
:class:`~switchsim.audio_paths.Eavesdrop` media bug on the target, the bug's lifetime
(MEDIA_BUG_START / MEDIA_BUG_STOP on the target, function ``eavesdrop``, target = the
target's uuid) and the mode changes while it runs. Who then hears whom is
:mod:`switchsim.audio_paths`.

As in FreeSWITCH:

* flags: ED_DTMF unless ``eavesdrop_enable_dtmf`` is false; ``eavesdrop_whisper_aleg`` →
  ED_MUX_READ (the eavesdropper's voice is mixed into what is read from the target, so the
  target's bridge partner hears it); ``eavesdrop_whisper_bleg`` → ED_MUX_WRITE (mixed into
  what is written to the target: the target's own endpoint hears it);
  ``eavesdrop_bridge_aleg`` → ED_BRIDGE_READ (the eavesdropper hears the target),
  ``eavesdrop_bridge_bleg`` → ED_BRIDGE_WRITE (it hears what is written to the target, i.e.
  the target's partner); neither set: both. ``eavesdrop_require_group`` must be one of the
  target's comma-separated ``eavesdrop_group``.
* it gives up at once when the eavesdropper has no media yet (neither answered nor early
  media), when the target is unknown, gone or the eavesdropper itself, and after 6 s
  if the target never gets media.
* while it runs, DTMF digits of the eavesdropper (with ED_DTMF) and the ``eavesdrop-command``
  header of events queued to its session (``sendevent`` with its ``Unique-ID``) switch
  modes: ``1`` MUX_READ only, ``2`` MUX_WRITE only, ``3`` both, ``0`` neither (listen),
  ``*`` ends the eavesdrop; other digits are ignored (4-6 are video layouts).
* it ends when either channel hangs up, on ``*``, or when the eavesdropper is pulled away
  (uuid_transfer, uuid_park, uuid_bridge) or asked to hang up; uuid_break does not end it
  (the loop does not look at CF_BREAK). The digits left in the eavesdropper's queue are then
  flushed (switch_core_session_reset).

FreeSWITCH sets no channel variable; switchsim adds ``eavesdrop_target_uuid`` on the
eavesdropper (kept afterwards). ``eavesdrop all`` is not simulated.
"""

from __future__ import annotations

import asyncio
import logging

from switchsim.audio_paths import Eavesdrop
from switchsim.channel import Channel, truthy
from switchsim.session import wait_until
from switchsim.switch import Switch

log = logging.getLogger(__name__)
TARGET_MEDIA_WAIT = 6.0  # switch_ivr_eavesdrop_session: sanity 600 x 10 ms


def media_up(ch: Channel) -> bool:
    """switch_channel_media_up: answered or early media."""
    return bool(ch.times["answered"] or ch.times["progress_media"])


def read_flags(ch: Channel, target: Channel) -> Eavesdrop:
    """eavesdrop_function's flags from the eavesdropper's variables (ED_* → fields)."""
    v = ch.vars
    dtmf = v.get("eavesdrop_enable_dtmf")
    bridge_read = truthy(v.get("eavesdrop_bridge_aleg"))
    bridge_write = truthy(v.get("eavesdrop_bridge_bleg"))
    if not (bridge_read or bridge_write):  # "at least one leg is bridged, default to both"
        bridge_read = bridge_write = True
    return Eavesdrop(
        eavesdropper=ch,
        target=target,
        mux_read=truthy(v.get("eavesdrop_whisper_aleg")),
        mux_write=truthy(v.get("eavesdrop_whisper_bleg")),
        bridge_read=bridge_read,
        bridge_write=bridge_write,
        dtmf=truthy(dtmf) if dtmf is not None else True,
    )


def command(ep: Eavesdrop, text: str) -> bool:
    """Apply an eavesdrop command (DTMF digits or ``eavesdrop-command``); False on ``*``."""
    for d in text:
        if d == "1":
            ep.mux_read, ep.mux_write = True, False
        elif d == "2":
            ep.mux_read, ep.mux_write = False, True
        elif d == "3":
            ep.mux_read = ep.mux_write = True
        elif d == "0":
            ep.mux_read = ep.mux_write = False
        elif d == "*":
            return False
    return True


def _group_ok(target: Channel, require_group: str) -> bool:
    groups = target.vars.get("eavesdrop_group")
    return bool(groups) and require_group in groups.split(",")


async def _target_media(ch: Channel, target: Channel) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TARGET_MEDIA_WAIT
    while target.is_up and not media_up(target) and loop.time() < deadline:
        if await wait_until(ch, lambda: False, 0.05) is False:
            return False
    return target.is_up and media_up(target)


async def app_eavesdrop(sw: Switch, ch: Channel, arg: str) -> str | None:
    data = arg.strip()
    if not data:
        log.error("%s: eavesdrop: Usage: [all | <uuid>]", ch.name)
        return None
    if data.lower() == "all":
        log.warning("%s: eavesdrop all is not simulated", ch.name)
        return None
    target = sw.get(data)
    if target is None or not target.is_up or not media_up(ch):
        return None
    if target is ch:
        log.error("%s: Eavesdrop target invalid.", ch.name)
        return None
    if not await _target_media(ch, target):
        return None
    require_group = ch.vars.get("eavesdrop_require_group")
    if require_group and not _group_ok(target, require_group):
        return None
    sw.pre_answer(ch)
    ep = read_flags(ch, target)
    ch.vars["eavesdrop_target_uuid"] = target.uuid
    ch.eavesdrop = ep
    sw.add_bug(target, ep)
    log.info("%s eavesdrops on %s (%s)", ch.uuid, target.uuid, ep.as_json())
    try:
        while ch.is_up and not ch.break_flag and target.is_up and ep in target.bugs:
            if not _commands(ch, ep):
                break
            await wait_until(
                ch,
                lambda: (
                    not target.is_up
                    or ep not in target.bugs
                    or bool(ch.events)
                    or (ep.dtmf and bool(ch.dtmf))
                ),
                None,
            )
    finally:
        sw.remove_bug(target, ep)
        ch.eavesdrop = None
        ch.dtmf.clear()
    return None


def _commands(ch: Channel, ep: Eavesdrop) -> bool:
    """Queued ``eavesdrop-command`` events, then the digits (with ED_DTMF); False on ``*``."""
    while ch.events:
        text = ch.events.popleft().get("eavesdrop-command")
        if text and not command(ep, text):
            return False
    while ep.dtmf and ch.dtmf:
        if not command(ep, ch.dtmf.popleft()):
            return False
    return True
