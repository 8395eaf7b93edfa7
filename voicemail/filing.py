"""Where a caller's message goes (IVR-7): finding a mailbox by its owner, filing a recording
the switch made as a message, the message-waiting state of a mailbox's phone, a mailbox's
summary for the agent desktop, and its live `voicemail` event.

Used by icm (the IVR's voicemail node and the "voicemail for mailbox X" entry point, on its
database workers) and by the web (the mailbox page): shared data, no request, no switch.
A message left in a queue's mailbox becomes a call-back for that queue in the same
transaction (`agents.ScheduledCallback`, source IVR): Celery hands it to icm when due (now)
and the ACD offers it to the queue's agents, whose desktop plays the message.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import soundfile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from agents.models import CALLBACK_NUMBER_PATTERN, Agent, ScheduledCallback
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.events import VoicemailChanged, voicemail_event
from icm.models import Queue
from voicemail.models import Mailbox, VoicemailMessage

log = logging.getLogger(__name__)
KINDS = tuple(Mailbox.Kind.values)
LISTED = 20  # new messages a desktop snapshot / event lists


class MailboxNotFound(LookupError):
    """No mailbox for that owner; the message says which."""


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    """What the IVR needs to take a message."""

    id: int
    owner: str
    greeting: str
    max_seconds: int


@dataclass(frozen=True, slots=True)
class MessageWaiting:
    """A phone's lamp: the mailbox's new and old (heard) messages (MWI)."""

    user: str
    domain: str
    new: int
    old: int


@dataclass(frozen=True, slots=True)
class Filed:
    message: int
    owner: str
    lamps: tuple[MessageWaiting, ...]
    callback: int | None


def parse_owner(target: str) -> tuple[str, str]:
    """`agent:a1001` → ("agent", "a1001"); a bare name is ("", name) (any kind)."""
    kind, sep, name = str(target).strip().partition(":")
    if not sep:
        kind, name = "", kind
    if kind and kind not in KINDS:
        raise MailboxNotFound(f"mailbox {target!r}: the owner is one of {', '.join(KINDS)}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise MailboxNotFound(f"mailbox {target!r}: not an owner's name")
    return kind, name


def resolve(target: str) -> Mailbox:
    """The mailbox of an owner (`agent:<id>`, `queue:<name>`, `department:<name>`, or a bare
    name: a queue, else an agent, else a department). Every agent and queue has one: it is
    created on first use; a department's is made in the admin."""
    kind, name = parse_owner(target)
    rows = Mailbox.objects.select_related("agent", "queue")
    if kind in ("", "queue"):
        queue = Queue.objects.filter(name=name).first()
        if queue is not None:
            return rows.get_or_create(kind="queue", queue=queue)[0]
    if kind in ("", "agent"):
        agent = Agent.objects.filter(login_id=name).first()
        if agent is not None:
            return rows.get_or_create(kind="agent", agent=agent)[0]
    if kind in ("", "department"):
        found = rows.filter(kind="department", department=name).first()
        if found is not None:
            return found
    raise MailboxNotFound(f"there is no mailbox {target!r}")


def mailbox_for(target: str) -> MailboxInfo | None:
    """The IVR's look-up: None when there is no such (active) mailbox."""
    try:
        box = resolve(target)
    except MailboxNotFound as exc:
        log.warning("voicemail: %s", exc)
        return None
    if not box.active:
        log.warning("voicemail: mailbox %s is closed", box.owner)
        return None
    return MailboxInfo(box.pk, box.owner, box.greeting, box.max_seconds)


def duration_of(path: str) -> float:
    try:
        return round(float(soundfile.info(path).duration), 2)
    except (OSError, RuntimeError, soundfile.LibsndfileError):
        return 0.0


def file_message(
    mailbox_id: int,
    path: str,
    *,
    call_uuid: str = "",
    caller_number: str = "",
    caller_name: str = "",
    received_at: datetime | None = None,
) -> Filed:
    """File the recording at `path` as a new message; a queue's becomes a call-back. The
    desktops of the mailbox's agents hear of it once it is committed."""
    box = Mailbox.objects.select_related("agent__extension__site", "queue").get(pk=mailbox_id)
    with transaction.atomic():
        message = VoicemailMessage.objects.create(
            mailbox=box,
            caller_number=caller_number[:64],
            caller_name=caller_name[:100],
            call_uuid=call_uuid[:64],
            received_at=received_at or timezone.now(),
            duration=duration_of(path),
            path=path,
        )
        callback = _queue_callback(box, message) if box.kind == Mailbox.Kind.QUEUE else None
        transaction.on_commit(lambda: publish(box))
    log.info(
        "voicemail: message %s from %s filed in %s (%.1f s)%s",
        message.pk,
        caller_number or "unknown",
        box.owner,
        message.duration,
        f"; call-back {callback.pk} for queue {box.queue.name}" if callback else "",
    )
    return Filed(message.pk, box.owner, lamps(box), callback.pk if callback else None)


def _queue_callback(box: Mailbox, message: VoicemailMessage) -> ScheduledCallback | None:
    """A queue's message is a contact the ACD routes: a call-back to the caller, due now."""
    number = re.sub(r"[\s().-]", "", message.caller_number)
    if not re.fullmatch(CALLBACK_NUMBER_PATTERN, number):
        log.warning("voicemail: message %s has no number to call back", message.pk)
        return None
    now = timezone.now()
    callback = ScheduledCallback.objects.create(
        queue=box.queue,
        number=number,
        due_at=now,
        next_attempt_at=now,
        note=f"Voicemail {message.pk} ({message.duration:.0f} s) left in {box.owner}",
        source=ScheduledCallback.Source.IVR,
    )
    message.callback = callback
    message.save(update_fields=["callback"])
    return callback


def counts(box: Mailbox) -> tuple[int, int]:
    """(new, old): unheard and heard messages not deleted."""
    live = box.messages.filter(deleted_at__isnull=True)
    got = live.aggregate(
        new=Count("id", filter=Q(heard_at__isnull=True)),
        old=Count("id", filter=Q(heard_at__isnull=False)),
    )
    return got["new"], got["old"]


def lamps(box: Mailbox) -> tuple[MessageWaiting, ...]:
    """The phones whose message-waiting lamp shows this mailbox: its agent's extension."""
    if box.kind != Mailbox.Kind.AGENT or box.agent is None or box.agent.extension is None:
        return ()
    extension = box.agent.extension
    new, old = counts(box)
    return (MessageWaiting(extension.number, extension.site.sip_domain, new, old),)


def lamp_of_phone(user: str, domain: str) -> MessageWaiting | None:
    """The lamp of the phone that registered as `user`@`domain`: its agent's mailbox's counts,
    for the account it registered with (None: no agent's mailbox behind that extension). An
    extension number of the domain's site first, as the ACD knows extensions by number."""
    boxes = Mailbox.objects.select_related("agent__extension__site").filter(
        kind=Mailbox.Kind.AGENT, agent__extension__number=user
    )
    box = boxes.filter(agent__extension__site__sip_domain=domain).first() or boxes.first()
    if box is None:
        return None
    new, old = counts(box)
    return MessageWaiting(user, domain, new, old)


def message_dict(message: VoicemailMessage) -> dict[str, Any]:
    """A message as the mailbox page and the desktop show it (JSON-ready)."""
    return {
        "id": message.pk,
        "mailbox": message.mailbox.owner,
        "caller_number": message.caller_number,
        "caller_name": message.caller_name,
        "received_at": message.received_at.isoformat(),
        "duration": message.duration,
        "heard": message.heard_at is not None,
        "forwarded_from": message.forwarded_from_id,
        "forwarded_by": message.forwarded_by,
        "callback": message.callback_id,
        "audio": f"/voicemail/messages/{message.pk}/audio",
    }


def summary(box: Mailbox | None) -> dict[str, Any]:
    """The desktop's `voicemail`: its mailbox's counts and newest unheard messages."""
    if box is None:
        return {"mailbox": "", "new": 0, "old": 0, "messages": []}
    new, old = counts(box)
    unheard = box.messages.filter(deleted_at__isnull=True, heard_at__isnull=True)
    rows = unheard.select_related("mailbox__agent", "mailbox__queue")[:LISTED]
    return {
        "mailbox": box.owner,
        "new": new,
        "old": old,
        "messages": [message_dict(m) for m in rows],
    }


def for_agent(agent: Agent) -> dict[str, Any]:
    """The agent's own mailbox's summary (the desktop snapshot's `voicemail`)."""
    box = Mailbox.objects.select_related("agent").filter(agent=agent).first()
    if box is None:
        return {**summary(None), "mailbox": f"agent:{agent.login_id}"}
    return summary(box)


def publish(box: Mailbox) -> None:
    """Tell the mailbox's agent's desktop (unsequenced `voicemail` event: a desktop that
    misses it has it in its next snapshot)."""
    if box.kind != Mailbox.Kind.AGENT or box.agent is None:
        return
    event = voicemail_event(VoicemailChanged(**summary(box), agents=[box.agent.login_id]))
    try:
        bus = get_redis()
        bus.publish(keys.events_channel(bus), json.dumps(event))
    except Exception:
        log.warning("voicemail: live update of %s failed", box.owner, exc_info=True)


def callback_message(callback: Any) -> dict[str, Any] | None:
    """The message a queue's call-back came from (its offer on the desktop plays it)."""
    if not callback or not str(callback).isdigit():
        return None
    found = (
        VoicemailMessage.objects.filter(callback_id=int(callback), deleted_at__isnull=True)
        .select_related("mailbox__agent", "mailbox__queue")
        .first()
    )
    return message_dict(found) if found else None
