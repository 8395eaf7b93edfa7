"""A caller waiting in a queue, on its own socket session: music, position announcements,
the keys to leave (1: a call-back that keeps the place, 2: voicemail), and the way out the
ACD chose when the caller leaves without an agent (R-7, R-9): voicemail, a transfer to an
extension or number, a call-back goodbye, or a goodbye — never a silent hang-up. The way
out is handed back to the caller of `wait_in_queue` (icm.daemon.ivr.session carries it: it
runs flows, records voicemail and transfers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import gevent

from icm.daemon.acd.messages import ContactArrived
from icm.daemon.acd.waiting_callers import QueueExit, WaitingCallers
from icm.daemon.ivr.place import WAITING_MARK, place_mark
from icm.daemon.switch import CallSession
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.model import Contact

log = logging.getLogger(__name__)

QueueStatus = Callable[[str], "tuple[int, float, float] | None"]

CALLBACK_KEY = "1"
VOICEMAIL_KEY = "2"
MUSIC = "local_stream://moh"
POLL_SECONDS = 0.2
BACK_SECONDS = 5.0  # how long the switch may take to park a caller whose agent hung up
KEYS_HINT = "To be called back, press 1. To leave a message, press 2."
SORRY = "We are sorry, no one can take your call now. Please call again later. Goodbye."
LEAVE_MESSAGE = "All our agents are busy. Please leave a message after the tone."


def wait_in_queue(
    session: CallSession,
    switch: str,
    notify: Callable[[object], None],
    contact: Contact,
    call_uuid: str,
    queue_status: QueueStatus | None,
    waiting: WaitingCallers | None,
    owner: Any = None,
    after_call: str = "",
) -> QueueExit | None:
    """Hand the call to the ACD, then music, announcements and the keys until an agent takes
    it (the ACD bridges it), the caller leaves, or the ACD moves it out: that way out is
    returned (None when the call ended here). A session whose caller was transferred back to
    icm (`owner.superseded`) stops acting but keeps its socket until the call ends: closing
    it would hang the call up. With `after_call` (a flow), the caller is kept when the agent
    hangs up (the switch parks it) and that flow's exit is returned (AG-7)."""
    uuid, queue = contact.contact_id, contact.queue
    session.execute(cmd.SetVar("ipbx_queue", queue))
    session.execute(cmd.SetVar(WAITING_MARK, place_mark(contact)))  # kept through a crash
    parked = [False]  # parked after a bridge (the agent hung up, or a consultation's hold)
    if after_call and waiting is not None:  # before the ACD has it: it may bridge at once
        session.execute(cmd.SetVar("park_after_bridge", "true"))
        session.execute(cmd.SetVar("ipbx_after_call", after_call))  # kept on a requeue
        session.on_back_from_bridge(lambda now_parked: parked.__setitem__(0, now_parked))
        waiting.want_after_call(uuid)
    ivr = contact.attached.get("ivr")
    data = {"flow": contact.attached.get("flow"), **ivr} if ivr else None
    # Music first, then the ACD: an agent answering at once must not be bridged before the
    # switch has the music command, which would then play after the bridge
    session.execute(cmd.Playback(MUSIC))
    queued_at = datetime.fromtimestamp(contact.enqueued_at, tz=UTC)  # a returning caller's
    notify(ev.CallQueued(switch, call_uuid, queue, queued_at, data))
    if waiting is not None:  # held while the ACD has not seen the switch (an icm start)
        waiting.gate.enter(ContactArrived(contact))
    else:
        notify(ContactArrived(contact))
    log.info(
        "call %s: dnis %s handed to queue %s (priority %s)",
        call_uuid,
        contact.attached.get("dnis"),
        queue,
        contact.priority,
    )
    try:
        return _wait(session, contact, call_uuid, queue_status, waiting, owner, after_call, parked)
    finally:
        if waiting is not None:
            waiting.want_after_call(uuid, False)


def _wait(
    session: CallSession,
    contact: Contact,
    call_uuid: str,
    queue_status: QueueStatus | None,
    waiting: WaitingCallers | None,
    owner: Any,
    after_call: str,
    parked: list[bool],
) -> QueueExit | None:
    uuid, queue = contact.contact_id, contact.queue
    pressed: list[str] = []
    session.on_dtmf(pressed.append)
    last_announcement = time.monotonic()
    while session.up:
        gevent.sleep(POLL_SECONDS)
        if getattr(owner, "superseded", False):
            continue
        if waiting is not None and waiting.gate.holds(uuid):
            continue  # not in the ACD yet (icm starting): its keys wait for it
        if waiting is not None:
            exit_ = waiting.take_exit(uuid)
            if exit_ is not None and exit_.kind == "after_call":
                if _back_from_agent(session, parked, call_uuid):
                    return replace(exit_, target=after_call, queue=queue)
                continue
            if exit_ is not None:
                _stop_music(session, uuid)
                return exit_
            if CALLBACK_KEY in pressed:
                pressed.clear()
                if waiting.request_callback(uuid):
                    callback_goodbye(session, call_uuid, contact.ani)
                    break
            if VOICEMAIL_KEY in pressed:
                pressed.clear()
                if waiting.leave_for(uuid, "voicemail"):  # its exit is taken next round
                    log.info("call %s: the caller leaves queue %s for voicemail", call_uuid, queue)
        status = queue_status(uuid) if queue_status else None
        if status and status[2] and time.monotonic() - last_announcement >= status[2]:
            last_announcement = time.monotonic()
            _announce(session, uuid, call_uuid, *status[:2], keys=waiting is not None)
    return None


def _back_from_agent(session: CallSession, parked: list[bool], call_uuid: str) -> bool:
    """The agent's leg hung up (the ACD's word, from that leg's own events); the caller is
    ours again once the switch parked it (its own CHANNEL_PARK, before or after that word).
    A caller still bridged (the agent handed it on in a consultation) is not."""
    deadline = time.monotonic() + BACK_SECONDS
    while session.up and time.monotonic() < deadline:
        if parked[0]:
            log.info(
                "call %s: the agent hung up; the caller goes on to its after-call flow", call_uuid
            )
            return True
        gevent.sleep(POLL_SECONDS / 4)
    log.info("call %s: the agent left but the caller was handed on: no after-call flow", call_uuid)
    return False


def callback_goodbye(session: CallSession, call_uuid: str, number: str) -> None:
    """The caller keeps its place and will be called back: say so, then hang up."""
    log.info(
        "call %s: call-back requested to %s; the place in the queue is kept", call_uuid, number
    )
    _stop_music(session, session.info.uuid)
    say(session, f"We will call you back at {' '.join(number)}. Goodbye.")
    session.hangup("NORMAL_CLEARING")


def say(session: CallSession, text: str) -> None:
    session.execute(cmd.Speak("flite", "kal", text), block=True, timeout=30)


def _announce(
    session: CallSession,
    channel: str,
    call_uuid: str,
    position: int,
    expected_wait: float,
    keys: bool,
) -> None:
    """Tell a waiting caller its place and expected wait (and the keys to leave), then back
    to music (R-9)."""
    if expected_wait == float("inf"):
        wait_text = "All our agents are busy."
    else:
        minutes = max(1, round(expected_wait / 60))
        wait_text = f"Your expected wait is about {minutes} minute{'s' if minutes > 1 else ''}."
    text = f"You are number {position} in the queue. {wait_text}"
    _stop_music(session, channel)
    session.execute(cmd.Speak("flite", "kal", f"{text} {KEYS_HINT}" if keys else text))
    session.execute(cmd.Playback(MUSIC))
    log.info(
        "call %s: announced position %s, expected wait %.0fs",
        call_uuid,
        position,
        expected_wait if expected_wait != float("inf") else -1,
    )


def _stop_music(session: CallSession, uuid: str) -> None:
    """Queue music (`local_stream://`) never ends by itself: break it so that what is queued
    behind it plays now."""
    reply = session.api(cmd.BreakLeg(uuid))
    text = getattr(reply, "data", "") or ""
    if str(text).startswith("-ERR"):
        log.warning("call %s: music not stopped: %s", uuid, text)
