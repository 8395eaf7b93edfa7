"""What users do with messages (IVR-7): mark heard, delete, forward to an agent's or a queue's
mailbox. Each action is checked against the user's mailboxes (voicemail.access), logged, and
once committed the mailboxes' desktops and message-waiting lamps follow (through icm: the
`message_waiting` command renders a MESSAGE_WAITING event on the switch)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.placement import switch_of
from icm import client as icm
from voicemail import access, filing
from voicemail.models import Mailbox, VoicemailAccess, VoicemailMessage

log = logging.getLogger(__name__)
Kind = VoicemailAccess.Kind


class ForwardRefused(ValueError):
    """A forward that cannot be done as asked; the message says why."""


def mark_heard(user: Any, message_id: int, address: str | None = None) -> VoicemailMessage:
    message = access.fetch(user, message_id, Kind.HEARD, address)
    if message.heard_at is None:
        message.heard_at = timezone.now()
        message.save(update_fields=["heard_at"])
        access.log(message, user, Kind.HEARD, address)
        changed(message.mailbox)
    return message


def listened(user: Any, message_id: int, address: str | None = None) -> VoicemailMessage:
    """The player fetched the audio: logged (once per request)."""
    message = access.fetch(user, message_id, Kind.LISTEN, address)
    access.log(message, user, Kind.LISTEN, address)
    return message


def delete(user: Any, message_id: int, address: str | None = None) -> VoicemailMessage:
    """The message leaves its mailbox (its file goes with retention, or now when no other
    mailbox holds it: see voicemail.retention)."""
    message = access.fetch(user, message_id, Kind.DELETE, address)
    with transaction.atomic():
        message.deleted_at = timezone.now()
        message.deleted_by = getattr(user, "username", "")[:150]
        message.save(update_fields=["deleted_at", "deleted_by"])
        access.log(message, user, Kind.DELETE, address)
    changed(message.mailbox)
    return message


def forward(
    user: Any, message_id: int, target: str, address: str | None = None
) -> VoicemailMessage:
    """A copy of the message in `target`'s mailbox (`agent:<id>` or `queue:<name>`): new
    there, emailed to its addresses, a call-back when it is a queue's."""
    message = access.fetch(user, message_id, Kind.FORWARD, address)
    try:
        kind, _name = filing.parse_owner(target)
        if kind not in ("agent", "queue"):
            raise filing.MailboxNotFound("forward to agent:<id> or queue:<name>")
        box = filing.resolve(target)
    except filing.MailboxNotFound as exc:
        raise ForwardRefused(str(exc)) from exc
    if box.pk == message.mailbox_id:
        raise ForwardRefused(f"the message is already in {box.owner}")
    if not box.active:
        raise ForwardRefused(f"mailbox {box.owner} is closed")
    with transaction.atomic():
        filed = filing.file_message(
            box.pk,
            message.path,
            call_uuid=message.call_uuid,
            caller_number=message.caller_number,
            caller_name=message.caller_name,
            received_at=message.received_at,
        )
        copy = VoicemailMessage.objects.get(pk=filed.message)
        copy.forwarded_from = message
        copy.forwarded_by = getattr(user, "username", "")[:150]
        copy.save(update_fields=["forwarded_from", "forwarded_by"])
        access.log(message, user, Kind.FORWARD, address, f"to {box.owner} as {copy.pk}")
    set_lamps(box)
    return copy


def changed(box: Mailbox) -> None:
    """After a change: the agent's desktop and phone lamp follow."""
    filing.publish(box)
    set_lamps(box)


def set_lamps(box: Mailbox) -> None:
    box = Mailbox.objects.select_related("agent__extension__site", "queue").get(pk=box.pk)
    for lamp in filing.lamps(box):
        try:
            icm.message_waiting(switch_of(box.agent), lamp.user, lamp.domain, lamp.new, lamp.old)
        except Exception:  # the bus is down: the lamp follows the next change
            log.warning("voicemail: lamp of %s not updated", box.owner, exc_info=True)
