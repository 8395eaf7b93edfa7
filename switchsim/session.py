"""Channel sessions: the per-channel task that routes, executes applications and tears down.

Owns the "session thread" of each simulated channel: the prelude of inbound and outbound
legs (CHANNEL_STATE/CREATE/ORIGINATE …), the execute loop (dialplan apps, sendmsg private
events, transfers, uuid_bridge and park requests), CHANNEL_EXECUTE/EXECUTE_COMPLETE around
every app, the park loop, the requests that pull a channel away from what it does
(:func:`pull_away`, :func:`request_transfer`, :func:`request_park`) and the hang-up teardown
(CS_HANGUP … CHANNEL_HANGUP_COMPLETE, CHANNEL_DESTROY) in FreeSWITCH's order.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuidlib
from collections.abc import Callable

from switchsim.channel import Channel, now_us
from switchsim.switch import (
    Q850,
    W_CREATE,
    W_DESTROY,
    W_EXECUTE,
    W_EXECUTE_COMPLETE,
    W_HANGUP_COMPLETE,
    W_ORIGINATE,
    W_OUTGOING,
    W_PARK,
    W_UNPARK,
    Switch,
)

log = logging.getLogger(__name__)


async def wait(ch: Channel, seconds: float | None, media: bool = False) -> bool:
    """Sleep up to ``seconds`` (None = forever). False if hangup/break interrupted it."""
    return await wait_until(ch, lambda: False, seconds, media) is None


async def wait_until(
    ch: Channel, cond: Callable[[], bool], seconds: float | None, media: bool = False
) -> bool | None:
    """Wait until ``cond()``; True when it held, None on timeout, False when interrupted."""
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    while True:
        if not ch.is_up or ch.break_flag or (media and ch.media_break):
            return False
        if cond():
            return True
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            return None
        ch.wake.clear()
        try:
            async with asyncio.timeout(remaining):
                await ch.wake.wait()
        except TimeoutError:
            pass


# -- preludes --------------------------------------------------------------------------------
def start_inbound(sw: Switch, ch: Channel, apps: list[tuple[str, str]] | None = None) -> None:
    """An inbound channel (trunk call, loopback -b leg): create, route, start executing."""
    sw.add(ch)
    ch.set_state("CS_INIT", 1)
    sw.set_state(ch, "CS_INIT", 1)
    ch.state_num = 2
    sw.chan_event(ch, "CHANNEL_CREATE", W_CREATE)
    ch.set_state("CS_ROUTING", 2)
    sw.set_callstate(ch, "RINGING")
    sw.set_state(ch, "CS_ROUTING", 2)
    if apps is None:
        apps = sw.dialplan.lookup(
            ch.profile.context, ch.profile.destination_number, ch.vars, sw.globals
        )
    if apps is None:
        ch.pending_hangup = "NO_ROUTE_DESTINATION"
    else:
        ch.apps.extend(apps)
        sw.set_state(ch, "CS_EXECUTE", 4)
    ch.task = asyncio.create_task(run_session(sw, ch), name=f"session-{ch.uuid}")


def start_outbound(sw: Switch, ch: Channel) -> None:
    """An originated (outbound) leg: create and wait in CS_CONSUME_MEDIA for instructions."""
    sw.add(ch)
    ch.hit_dialplan = False
    if ch.kind == "sofia":
        # switch_core_session_outgoing_channel: CHANNEL_OUTGOING in CS_NONE, before any codec
        # or network address is known (sip-call-hold.txt); mod_loopback fires none
        early = ("Channel-Read-Codec-", "Channel-Write-Codec-", "Caller-Network-Addr")
        headers = [h for h in ch.data_headers(False) if not h[0].startswith(early)]
        sw.bus.emit("CHANNEL_OUTGOING", W_OUTGOING, headers)
    sw.set_state(ch, "CS_INIT", 1)
    ch.state_num = 2
    sw.chan_event(ch, "CHANNEL_CREATE", W_CREATE)
    sw.chan_event(ch, "CHANNEL_ORIGINATE", W_ORIGINATE)
    sw.set_state(ch, "CS_ROUTING", 2)
    sw.set_state(ch, "CS_CONSUME_MEDIA", 7)
    ch.idle_wait = True
    ch.task = asyncio.create_task(run_session(sw, ch), name=f"session-{ch.uuid}")


def begin_execute(sw: Switch, ch: Channel, apps: list[tuple[str, str]]) -> None:
    """Give an answered outbound leg its applications (originate's &app or an extension)."""
    ch.idle_wait = False
    ch.hit_dialplan = True
    ch.apps.extend(apps)
    sw.set_state(ch, "CS_EXECUTE", 4)
    ch.wake_up()


# -- execution -------------------------------------------------------------------------------
async def run_session(sw: Switch, ch: Channel) -> None:
    from switchsim.bridge import run_bridge

    try:
        while True:
            if not ch.is_up:
                break
            if ch.pending_hangup:
                sw.hangup(ch, ch.pending_hangup)
                break
            ch.break_flag = False
            if ch.transfer_to is not None:
                do_transfer(sw, ch)
                continue
            if ch.bridge_request is not None:
                other, ch.bridge_request = ch.bridge_request, None
                if other.is_up:
                    uuid_bridge_execute(sw, ch, other)
                    await run_bridge(sw, ch, other, uuid_mode=True)
                continue
            if ch.park_request:
                ch.park_request = False
                ch.apps.clear()
                sw.set_state(ch, "CS_PARK", 6)
                await park_loop(sw, ch)
                continue
            if ch.private:
                await process_private(sw, ch, ch.private.popleft())
                continue
            if ch.apps:
                app, arg = ch.apps.popleft()
                await execute(sw, ch, app, arg)
                continue
            if ch.idle_wait:
                await wait_until(ch, lambda: _has_work(ch), None)
                continue
            sw.hangup(ch, "NORMAL_CLEARING")
            break
    except asyncio.CancelledError:
        sw.hangup(ch, "SYSTEM_SHUTDOWN")
        raise
    except Exception:
        log.exception("session %s crashed", ch.uuid)
        sw.hangup(ch, "NORMAL_TEMPORARY_FAILURE")
    finally:
        await teardown(sw, ch)


def _has_work(ch: Channel) -> bool:
    return bool(
        ch.private
        or ch.apps
        or ch.pending_hangup
        or ch.park_request
        or ch.transfer_to is not None
        or ch.bridge_request is not None
    )


def uuid_bridge_execute(sw: Switch, a: Channel, b: Channel) -> None:
    """uuid_bridge_on_soft_execute: the originator enters CS_SOFT_EXECUTE and both legs get a
    CHANNEL_EXECUTE ``uuid_bridge`` (no _COMPLETE) so ``show channels`` shows the bridge."""
    if a.state != "CS_SOFT_EXECUTE":
        sw.set_state(a, "CS_SOFT_EXECUTE", 3)
    for x, y, line in ((a, b, 1236), (b, a, 1243)):
        x.current_app, x.current_arg = "uuid_bridge", y.uuid
        where = ("switch_ivr_bridge.c", "uuid_bridge_on_soft_execute", line)
        after = [("Application", "uuid_bridge"), ("Application-Data", y.uuid)]
        sw.chan_event(x, "CHANNEL_EXECUTE", where, after=after)


# -- requests from outside the session (api commands, other sessions) -----------------------
def pull_away(ch: Channel) -> None:
    """Interrupt what the channel does (app, park, bridge, conference) for a new job; the
    bridge partner (whose session runs the bridge when it drives) is told first."""
    ch.moves += 1
    ch.break_flag = True
    if ch.bridge_peer is not None:
        ch.bridge_peer.wake_up()
    ch.wake_up()


def request_transfer(ch: Channel, dest: str, dialplan: str, context: str) -> None:
    """switch_ivr_session_transfer: route the channel anew (``inline`` runs ``app:arg,…``)."""
    ch.transfer_to = (dest, dialplan, context)
    ch.bridge_request = None
    ch.park_request = False
    ch.idle_wait = False
    # switch_ivr_session_transfer changes the caller profile and variables at once (the
    # transfer app's CHANNEL_EXECUTE_COMPLETE already shows them); routing happens later
    stamp_transfer(ch, dest, dialplan, context)
    pull_away(ch)


def transfer_defaults(ch: Channel, dialplan: str, context: str) -> tuple[str, str]:
    """switch_ivr_session_transfer: missing dialplan → the profile's (never inline) or XML,
    missing context → the profile's."""
    if not dialplan:
        dialplan = ch.profile.dialplan
        if not dialplan or dialplan.lower() == "inline":
            dialplan = "XML"
    return dialplan, context or ch.profile.context or "default"


def request_park(ch: Channel) -> None:
    """switch_ivr_park_session (uuid_park, park_after_bridge): CS_PARK, then the park loop."""
    ch.park_request = True
    ch.transfer_to = None
    ch.bridge_request = None
    ch.apps.clear()
    pull_away(ch)


async def execute(
    sw: Switch, ch: Channel, app: str, arg: str, app_uuid: str | None = None
) -> str | None:
    """Run one application with CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE around it."""
    from switchsim.apps import APPS

    func = APPS.get(app)
    if not sw.modules.app_loaded(app):
        # switch_core_session_execute_application_get_flags: no CHANNEL_EXECUTE, the call
        # is hung up (the dialplan, a sendmsg execute and an inline transfer alike)
        log.error("%s: Invalid Application %s", ch.name, app)
        sw.hangup(ch, "DESTINATION_OUT_OF_ORDER")
        return None
    if func is None:
        log.warning("%s: application %r is not simulated; skipped", ch.name, app)
        return None
    arg = sw.expand(arg, ch) if arg else ""
    app_uuid = app_uuid or str(uuidlib.uuid4())
    ch.set_var("current_application_data", arg)
    ch.vars.pop("current_application", None)
    ch.vars["current_application"] = app
    ch.vars.pop("current_application_response", None)
    ch.current_app, ch.current_arg = app, arg
    data = [("Application-Data", arg)] if arg else []
    sw.chan_event(
        ch,
        "CHANNEL_EXECUTE",
        W_EXECUTE,
        after=[("Application", app), *data, ("Application-UUID", app_uuid)],
    )
    response = await func(sw, ch, arg)
    if response:
        ch.vars["current_application_response"] = response
    ch.last_app, ch.last_arg = app, arg
    sw.chan_event(
        ch,
        "CHANNEL_EXECUTE_COMPLETE",
        W_EXECUTE_COMPLETE,
        after=[
            ("Application", app),
            *data,
            ("Application-Response", response or "_none_"),
            ("Application-UUID", app_uuid),
        ],
    )
    return response


async def process_private(sw: Switch, ch: Channel, msg: dict[str, str]) -> None:
    """A sendmsg queued for this channel (call-command execute / hangup / …)."""
    command = msg.get("call-command", "").lower()
    if command == "execute":
        app = msg.get("execute-app-name", "")
        arg = msg.get("execute-app-arg", "") or msg.get("_body", "")
        try:
            loops = max(1, int(msg.get("loops", "1")))
        except ValueError:
            loops = 1
        for i in range(loops):
            if not ch.is_up:
                break
            ch.vars["current_loop"] = str(i + 1)
            ch.vars["total_loops"] = str(loops)
            await execute(sw, ch, app, arg, msg.get("event-uuid") or None)
    elif command == "hangup":
        sw.hangup(ch, msg.get("hangup-cause", "NORMAL_CLEARING"))
    else:
        log.debug("%s: ignoring call-command %r", ch.name, command)


async def park_loop(sw: Switch, ch: Channel) -> None:
    """switch_ivr_park: CHANNEL_PARK, run queued sendmsg until hangup or break, CHANNEL_UNPARK."""
    ch.parked = True
    sw.chan_event(ch, "CHANNEL_PARK", W_PARK)
    # a transfer (the transfer app, uuid_transfer) ends the park: the call moves on
    while ch.is_up and not ch.break_flag and ch.transfer_to is None and not ch.socket_lost:
        if ch.private:
            await process_private(sw, ch, ch.private.popleft())
            continue
        await wait_until(
            ch, lambda: bool(ch.private) or ch.transfer_to is not None or ch.socket_lost, None
        )
    ch.parked = False
    # the socket's sendmsg loop counters go with the park (outbound-ivr.txt: gone from
    # CHANNEL_UNPARK on)
    ch.vars.pop("current_loop", None)
    ch.vars.pop("total_loops", None)
    sw.chan_event(ch, "CHANNEL_UNPARK", W_UNPARK)


def stamp_transfer(ch: Channel, dest: str, dialplan: str, context: str) -> None:
    """switch_ivr_session_transfer's bookkeeping: transfer_history/_source, max_forwards,
    a new caller profile (RDNIS = the old destination, Transfer-Source)."""
    inline = dialplan.lower() == "inline"
    p = ch.profile
    shown = dialplan if inline else dialplan.upper()
    stamp = f"{int(time.time())}:{uuidlib.uuid4()}:bl_xfer:{dest}/{context}/{shown}"
    ch.set_var("transfer_history", stamp)
    ch.set_var("transfer_source", stamp)
    ch.set_var("max_forwards", "69")
    if not inline:
        # inline_dialplan_hunt puts the old destination number back (from rdnis)
        p.rdnis = p.destination_number
        p.destination_number = dest
    p.dialplan = dialplan
    p.context = context
    p.transfer_source = stamp
    p.profile_index += 1
    p.created_us = now_us()
    ch.times["transfer"] = p.created_us
    ch.transfer_stamped = (dest, dialplan, context)


def do_transfer(sw: Switch, ch: Channel) -> None:
    """Re-route a channel to a new extension (uuid_transfer / transfer app)."""
    from switchsim.dialplan import parse_inline

    assert ch.transfer_to is not None
    dest, dialplan, context = ch.transfer_to
    ch.transfer_to = None
    ch.apps.clear()
    ch.idle_wait = False
    inline = dialplan.lower() == "inline"
    if ch.transfer_stamped != (dest, dialplan, context):
        stamp_transfer(ch, dest, dialplan, context)
    ch.transfer_stamped = None
    ch.hit_dialplan = True
    sw.set_state(ch, "CS_ROUTING", 2)
    if inline:
        apps: list[tuple[str, str]] | None = parse_inline(dest) or None
    else:
        apps = sw.dialplan.lookup(context, dest, ch.vars, sw.globals)
    if apps is None:
        ch.pending_hangup = "NO_ROUTE_DESTINATION"
        return
    ch.apps.extend(apps)
    sw.set_state(ch, "CS_EXECUTE", 4)


# -- teardown --------------------------------------------------------------------------------
def _cdr_vars(ch: Channel) -> None:
    t = ch.times
    end = t["hangup"] or now_us()
    start = t["created"]
    answered = t["answered"]
    v = ch.vars
    v["hangup_cause"] = ch.hangup_cause or "NORMAL_CLEARING"
    v["hangup_cause_q850"] = str(Q850.get(v["hangup_cause"], 16))
    v["digits_dialed"] = ch.digits_dialed or "none"

    def stamp(us: int) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(us / 1e6))

    v["start_stamp"] = stamp(start)
    v["profile_start_stamp"] = stamp(ch.profile.created_us)
    if answered:
        v["answer_stamp"] = stamp(answered)
    if t["bridged"]:
        v["bridge_stamp"] = stamp(t["bridged"])
    if t["progress"]:
        v["progress_stamp"] = stamp(t["progress"])
    if t["progress_media"]:
        v["progress_media_stamp"] = stamp(t["progress_media"])
    v["end_stamp"] = stamp(end)
    for name, us in (
        ("start", start),
        ("profile_start", ch.profile.created_us),
        ("answer", answered),
        ("bridge", t["bridged"]),
        ("last_hold", t["last_hold"]),
    ):
        v[f"{name}_epoch"] = str(us // 1_000_000)
        v[f"{name}_uepoch"] = str(us)
    hold = t["hold_accum"]
    v["hold_accum_seconds"] = str(hold // 1_000_000)
    v["hold_accum_usec"] = str(hold)
    v["hold_accum_ms"] = str(hold // 1000)
    for name, us in (
        ("resurrect", 0),
        ("progress", t["progress"]),
        ("progress_media", t["progress_media"]),
        ("end", end),
    ):
        v[f"{name}_epoch"] = str(us // 1_000_000)
        v[f"{name}_uepoch"] = str(us)
    if ch.last_app:
        v["last_app"] = ch.last_app
        ch.set_var("last_arg", ch.last_arg)
    v["caller_id"] = ch.caller_id()
    dur = end - start
    bill = end - answered if answered else 0
    prog = t["progress"] - start if t["progress"] else 0
    ans = answered - start if answered else 0
    pm = t["progress_media"] - start if t["progress_media"] else 0
    for suffix, div in (("sec", 1_000_000), ("msec", 1000), ("usec", 1)):
        d = "m" if suffix == "msec" else ("u" if suffix == "usec" else "")
        v[f"{d}duration"] = str(dur // div)
        v[f"bill{suffix}"] = str(bill // div)
        v[f"progress{suffix}"] = str(prog // div)
        v[f"answer{suffix}"] = str(ans // div)
        v[f"wait{suffix}"] = str(ans // div)
        v[f"progress_media{suffix}"] = str(pm // div)
        v[f"flow_bill{suffix}"] = str(dur // div)
    if ch.kind == "loopback":
        v["is_loopback"] = "1"


async def teardown(sw: Switch, ch: Channel) -> None:
    """CS_HANGUP → CS_REPORTING (CHANNEL_HANGUP_COMPLETE) → CHANNEL_DESTROY → CS_DESTROY."""
    from switchsim.recording import stop_all_recordings

    if ch.is_up:
        sw.hangup(ch, "NORMAL_CLEARING")
    stop_all_recordings(sw, ch)
    sw.set_state(ch, "CS_HANGUP", 10)
    sw.remove_all_bugs(ch)  # switch_core_session_hangup_state: MEDIA_BUG_STOP for each
    sw.set_callstate(ch, "HANGUP")
    sw.set_state(ch, "CS_REPORTING", 11)
    if ch.hold_spans:  # sofia: hold_stamp and hold_events appear with the CDR variables
        ch.vars["hold_stamp"] = str(ch.hold_spans[0][0])
        ch.vars["hold_events"] = "{" + ",".join(f"{{{a},{b}}}" for a, b in ch.hold_spans) + "}"
    _cdr_vars(ch)
    sw.chan_event(
        ch,
        "CHANNEL_HANGUP_COMPLETE",
        W_HANGUP_COMPLETE,
        before=[("Hangup-Cause", ch.hangup_cause or "NORMAL_CLEARING")],
    )
    ch.reported.set()
    waits = []
    peer = ch.loopback_peer
    if peer is not None:
        waits.append(peer.reported.wait() if ch.loopback_leg == "A" else peer.destroyed.wait())
    if ch.outbound_done is not None:
        waits.append(ch.outbound_done)
    for w in waits:
        try:
            async with asyncio.timeout(600):
                await w
        except (TimeoutError, asyncio.CancelledError):
            pass
        except Exception:
            log.debug("waiting before destroy failed", exc_info=True)
    ch.state_num = 12
    sw.chan_event(ch, "CHANNEL_DESTROY", W_DESTROY)
    sw.set_state(ch, "CS_DESTROY", 12)
    ch.destroyed.set()
    sw.remove(ch)
    if sw.world is not None:
        sw.world.channel_gone(ch)
