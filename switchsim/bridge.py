"""Bridging two channels: CHANNEL_BRIDGE / CHANNEL_UNBRIDGE and who hangs up afterwards.

Owns switch_ivr_multi_threaded_bridge's visible behaviour: Other-Leg-* data on both legs,
bridge variables, the b-leg's CS_EXCHANGE_MEDIA, and what happens when either side leaves
(hang-up propagation, hangup_after_bridge, transfer out of a bridge).
"""

from __future__ import annotations

import logging

from switchsim.channel import Channel, now_us
from switchsim.session import wait_until
from switchsim.switch import W_BRIDGE, W_UNBRIDGE, Switch

log = logging.getLogger(__name__)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "yes", "on", "1", "enabled", "active", "allow")


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
    await wait_until(a, lambda: not b.is_up or b.break_flag or b.transfer_to is not None, None)
    a.vars["last_bridge_role"] = "originator"
    b.vars["last_bridge_role"] = "originatee"
    cause = b.hangup_cause or b.pending_hangup or "NORMAL_CLEARING"
    a.vars["bridge_hangup_cause"] = cause
    a.vars["last_bridge_hangup_cause"] = cause
    sw.chan_event(a, "CHANNEL_UNBRIDGE", W_UNBRIDGE, before=ids)
    a.bridge_peer = None
    b.bridge_peer = None
    if sw.world is not None:
        sw.world.unbridged(a, b)
    if a.is_up and not a.pending_hangup and b.is_up:
        # a left the bridge (transfer / break): the b-leg is hung up unless it moves too
        if b.transfer_to is None and not b.break_flag:
            sw.soft_hangup(b, "NORMAL_CLEARING")
        else:
            b.idle_wait = False
    elif a.is_up and not b.is_up:
        if uuid_mode or _truthy(a.vars.get("hangup_after_bridge")):
            sw.soft_hangup(a, cause)
        elif _truthy(a.vars.get("park_after_bridge")):
            a.apps.appendleft(("park", ""))
    elif not a.is_up and b.is_up:
        sw.soft_hangup(b, a.hangup_cause or "NORMAL_CLEARING")


def request_uuid_bridge(sw: Switch, a: Channel, b: Channel) -> None:
    """uuid_bridge: pull both channels out of what they do and bridge them (a drives)."""
    b.apps.clear()
    b.idle_wait = True
    b.break_flag = True
    b.wake_up()
    a.apps.clear()
    a.idle_wait = False
    a.bridge_request = b
    a.break_flag = True
    a.wake_up()
