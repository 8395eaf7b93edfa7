"""The IVR's voicemail (IVR-7): a caller's message recorded through the switch and filed in a
mailbox. Run by a flow's voicemail node and by the "voicemail for mailbox X" entry point
(icm.daemon.voicemail.entry): the mailbox's greeting, the tone, the switch's `record` (a
caller who hangs up ends the message, as on any voicemail), then the message is filed
(voicemail.filing: a queue's becomes a call-back), the owner's phone lamp lit (through the
voicemail feature) and the message emailed (voicemail.delivery; Celery retries a failure).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import gevent
from django.conf import settings
from django.db import connection

from icm.daemon.ivr.voice import BEEP
from icm.daemon.switch import CallGone, CallSession
from icm.daemon.voicemail.messages import LampChanged
from icm.domain import commands as cmd
from voicemail import delivery, filing

log = logging.getLogger(__name__)

RunDb = Callable[..., Any]
NO_MAILBOX = "We are sorry, this mailbox cannot take messages. Goodbye."
DEFAULT_GREETING = "Please leave a message after the tone."
MIN_SECONDS = 1.0  # shorter: the caller hung up at the tone; nothing is filed
FILE_WAIT = 3.0  # s: a caller's hang-up ends the record app before the file is closed
RETRY_DELAYS = (2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0)  # s: filing while the database is away


def leave_voicemail(
    session: CallSession,
    call_uuid: str,
    owner: str,
    caller: tuple[str, str],
    run_db: RunDb,
    notify: Callable[[object], None],
    max_seconds: int = 0,
    greeted: bool = False,
) -> int | None:
    """Record the caller into `owner`'s mailbox; the filed message's id (None: nothing filed).
    `caller` is (number, name); `greeted`: a flow already said its prompt."""
    box = run_db(filing.mailbox_for, owner)
    if box is None:
        log.warning("call %s: no mailbox %s; the caller is told", call_uuid, owner)
        _speak(session, NO_MAILBOX)
        return None
    if box.greeting:
        _greet(session, box.greeting)
    elif not greeted:
        _speak(session, DEFAULT_GREETING)
    path = message_path(box.owner, call_uuid)
    seconds = max(5, min(600, max_seconds or box.max_seconds))
    try:
        session.execute(cmd.Playback(BEEP), block=True, timeout=30)
        session.execute(cmd.Record(path, seconds), block=True, timeout=seconds + 30)
    except CallGone:
        log.info("call %s: the caller hung up to end the message", call_uuid)
    if not _written(path) or filing.duration_of(path) < MIN_SECONDS:
        log.info("call %s: no message for %s (nothing said)", call_uuid, box.owner)
        Path(path).unlink(missing_ok=True)
        return None
    number, name = caller
    file_it = partial(
        filing.file_message,
        box.id,
        path,
        call_uuid=call_uuid,
        caller_number=number,
        caller_name=name,
        received_at=datetime.now(tz=UTC),
    )
    try:
        filed = run_db(file_it)
    except (Exception, gevent.Timeout):  # the database is away: the message is not lost
        log.exception("call %s: message %s not filed yet; retrying", call_uuid, path)
        gevent.spawn(file_later, file_it, run_db, notify)
        return None
    _filed(call_uuid, filed, path, notify)
    return filed.message


def file_later(
    file_it: Callable[[], filing.Filed],
    run_db: RunDb,
    notify: Callable[[object], None],
    delays: tuple[float, ...] = RETRY_DELAYS,
) -> filing.Filed | None:
    """File a message whose first try failed, again after each of `delays` (s); None when
    every try failed (logged with its file: an operator can file it by hand)."""
    for delay in delays:
        gevent.sleep(delay)
        try:
            filed = run_db(file_it)
        except (Exception, gevent.Timeout):
            log.warning("voicemail %s: filing failed again", file_it.args[1], exc_info=True)
            continue
        _filed("-", filed, str(file_it.args[1]), notify)
        return filed
    log.error("voicemail %s: NOT FILED after %d tries", file_it.args[1], len(delays) + 1)
    return None


def _filed(
    call_uuid: str, filed: filing.Filed, path: str, notify: Callable[[object], None]
) -> None:
    """A filed message: its owner's phone lamp, and its email."""
    log.info("call %s: voicemail %s for %s in %s", call_uuid, filed.message, filed.owner, path)
    for lamp in filed.lamps:
        notify(LampChanged(lamp.user, lamp.domain, lamp.new, lamp.old))
    gevent.spawn(_email, filed.message)


def message_path(owner: str, call_uuid: str) -> str:
    """Where the switch writes a message: under the recordings storage, one directory per
    mailbox (shared by the switch and the web, as recordings are)."""
    folder = re.sub(r"[^A-Za-z0-9_.-]", "_", owner.replace(":", "-"))[:80]  # queue-support
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S")
    return f"{settings.IPBX_RECORDINGS_DIR}/voicemail/{folder}/{stamp}-{call_uuid}.wav"


def _greet(session: CallSession, greeting: str) -> None:
    if greeting.startswith("/") or re.search(r"\.(wav|mp3|ogg)$", greeting):
        session.execute(cmd.Playback(greeting), block=True, timeout=120)
    else:
        _speak(session, greeting)


def _speak(session: CallSession, text: str) -> None:
    engine, _, voice = settings.IVR_TTS_VOICES.get("default", "flite|kal").partition("|")
    try:
        session.execute(cmd.Speak(engine, voice, text), block=True, timeout=60)
    except CallGone:
        raise
    except Exception:
        log.exception("voicemail prompt not said")


def _written(path: str) -> bool:
    deadline = time.monotonic() + FILE_WAIT
    while not Path(path).is_file():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(0.1)
    return True


def _email(message_id: int) -> None:
    """Email the message now (SMTP is cooperative under gevent); Celery retries a failure."""
    try:
        delivery.deliver(message_id)
    except Exception:
        log.exception("voicemail %s: email failed; Celery retries it", message_id)
    finally:
        connection.close()  # this greenlet's own connection
