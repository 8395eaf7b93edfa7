"""Bridging two channels: CHANNEL_BRIDGE / CHANNEL_UNBRIDGE and what each leg does afterwards.

Owns switch_ivr_multi_threaded_bridge's visible behaviour: Other-Leg-* data on both legs,
bridge variables, the b-leg's CS_EXCHANGE_MEDIA, and the after-bridge rules of both legs
(switch_ivr_bridge.c): a leg whose partner hung up or was pulled away (uuid_bridge,
uuid_transfer, uuid_park) parks with ``park_after_bridge``, is transferred with
``transfer_after_bridge``, else the originator hangs up (``hangup_after_bridge``, or a
uuid_bridge with nothing left to run) or goes on with its dialplan, and the originatee is
hung up. A leg that was pulled away follows its new job instead.
"""

from __future__ import annotations

import logging

from switchsim.channel import Channel, now_us, truthy
from switchsim.session import pull_away, request_park, request_transfer, wait_until
from switchsim.switch import W_BRIDGE, W_UNBRIDGE, Switch

log = logging.getLogger(__name__)


async def run_bridge(sw: Switch, a: Channel, b: Channel, uuid_mode: bool = False) -> None:
    """Bridge ``a`` (running this coroutine in its session) with ``b`` until one leaves."""
    if not a.is_up or not b.is_up:
        return
    if not a.times["answered"]:
        sw.answer(a)
    if not b.times["answered"]:
        sw.answer(b)
    a.bridge_peer, b.bridge_peer = b, a
    a.other_leg, a.other_type = b, "originatee"
    b.other_leg, b.other_type = a, "originator"
    b.hangup_with_peer = True
    a.hangup_with_peer = uuid_mode
    b.idle_wait = True
    b_moves = b.moves  # anything pulling b away from now on ends the bridge
    t = now_us()
    a.times["bridged"] = b.times["bridged"] = t
    for x, y in ((a, b), (b, a)):
        x.vars["bridge_channel"] = y.name
        x.vars["bridge_uuid"] = y.uuid
        x.vars["signal_bond"] = y.uuid
        x.vars["last_bridge_to"] = y.uuid
    b.vars["call_uuid"] = a.call_uuid
    if b.state != "CS_EXCHANGE_MEDIA":
        sw.set_state(b, "CS_EXCHANGE_MEDIA", 5)
    ids = [("Bridge-A-Unique-ID", a.uuid), ("Bridge-B-Unique-ID", b.uuid)]
    sw.chan_event(a, "CHANNEL_BRIDGE", W_BRIDGE, before=ids)
    if sw.world is not None:
        sw.world.bridged(a, b)
    await wait_until(a, lambda: not b.is_up or b.moves != b_moves, None)
    a.vars["last_bridge_role"] = "originator"
    b.vars["last_bridge_role"] = "originatee"
    cause = b.hangup_cause or b.pending_hangup or "NORMAL_CLEARING"
    a.vars["bridge_hangup_cause"] = cause
    a.vars["last_bridge_hangup_cause"] = cause
    sw.chan_event(a, "CHANNEL_UNBRIDGE", W_UNBRIDGE, before=ids)
    # either leg may already be in a new bridge (its session ran first): leave that alone
    if a.bridge_peer is b:
        a.bridge_peer = None
    if b.bridge_peer is a:
        b.bridge_peer = None
    if sw.world is not None:
        sw.world.unbridged(a, b)
    a_stays = a.is_up and not a.pending_hangup and not a.break_flag
    b_stays = b.is_up and not b.pending_hangup and b.moves == b_moves
    if a_stays:
        _originator_after_bridge(sw, a, cause if not b.is_up else "NORMAL_CLEARING", uuid_mode)
    if b_stays:
        a_gone = not a.is_up or bool(a.pending_hangup)
        _originatee_after_bridge(sw, b, (a.hangup_cause or a.pending_hangup) if a_gone else None)


def _transfer_after_bridge(ch: Channel) -> bool:
    """``transfer_after_bridge=<ext>[:<dialplan>[:<context>]]`` (the variable is cleared)."""
    where = ch.vars.pop("transfer_after_bridge", "")
    if not where:
        return False
    parts = where.split(":")
    dialplan = parts[1] if len(parts) > 1 and parts[1] else "XML"
    context = parts[2] if len(parts) > 2 and parts[2] else ch.profile.context
    request_transfer(ch, parts[0], dialplan, context)
    return True


def _originator_after_bridge(sw: Switch, a: Channel, cause: str, uuid_mode: bool) -> None:
    """switch_ivr_multi_threaded_bridge's ending for the a-leg still up and not moving."""
    if truthy(a.vars.get("park_after_bridge")):
        log.debug("%s: park after bridge", a.uuid)
        request_park(a)
    elif _transfer_after_bridge(a):
        log.debug("%s: transfer after bridge", a.uuid)
    elif uuid_mode or truthy(a.vars.get("hangup_after_bridge")):
        sw.soft_hangup(a, cause)


def _originatee_after_bridge(sw: Switch, b: Channel, a_cause: str | None) -> None:
    """audio_bridge_on_exchange_media's ending for the b-leg still up and not moving: its
    partner hung up (``a_cause``) or was pulled away (None)."""
    if truthy(b.vars.get("park_after_bridge")):
        log.debug("%s: park after bridge", b.uuid)
        request_park(b)
    elif _transfer_after_bridge(b):
        log.debug("%s: transfer after bridge", b.uuid)
    else:
        sw.soft_hangup(b, a_cause or "NORMAL_CLEARING")


def request_uuid_bridge(sw: Switch, a: Channel, b: Channel) -> None:
    """uuid_bridge: pull both channels out of what they do and bridge them (a drives)."""
    for ch in (b, a):
        ch.apps.clear()
        ch.transfer_to = None
        ch.park_request = False
    b.bridge_request = None
    b.idle_wait = True
    pull_away(b)
    a.idle_wait = False
    a.bridge_request = b
    pull_away(a)
