"""Delivery of new messages by email (IVR-7): each message of a mailbox with addresses is sent
once, as a WAV attachment, over plain SMTP (Django's EMAIL_* settings: IPBX_SMTP_HOST …).

icm tries right after filing a message; Celery (`voicemail.deliver_pending`) retries what is
still undelivered (an SMTP server down, icm stopped in between) with a growing delay, and
gives up after MAX_ATTEMPTS (the error stays on the message). The row is locked while it is
sent (`FOR UPDATE SKIP LOCKED`): icm and any number of workers never send one message twice.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from voicemail.models import VoicemailAccess, VoicemailMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BATCH = 20
ATTACHMENT_MAX = 20 * 1024 * 1024  # bytes: a longer message is announced without its audio


def deliver(message_id: int) -> str:
    """Send message `message_id` to its mailbox's addresses: "sent", "none" (no address),
    "done" (already), "busy" (someone else is on it), "failed" or "missing"."""
    with transaction.atomic():
        message = (
            VoicemailMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("mailbox__agent", "mailbox__queue")
            .filter(pk=message_id)
            .first()
        )
        if message is None:
            exists = VoicemailMessage.objects.filter(pk=message_id).exists()
            return "busy" if exists else "missing"
        if message.delivered_at is not None:
            return "done"
        addresses = message.mailbox.email_list()
        outcome = "none"
        if addresses and message.deleted_at is None:
            try:
                _send(message, addresses)
            except (OSError, smtplib.SMTPException) as exc:
                message.delivery_attempts += 1
                message.delivery_error = f"{type(exc).__name__}: {exc}"[:300]
                message.save(update_fields=["delivery_attempts", "delivery_error"])
                log.warning("voicemail: message %s not emailed: %s", message.pk, exc)
                return "failed"
            outcome = "sent"
            VoicemailAccess.objects.create(
                message=message,
                username="email",
                kind=VoicemailAccess.Kind.EMAIL,
                detail=", ".join(addresses)[:300],
            )
        message.delivered_at, message.delivery_error = timezone.now(), ""
        message.save(update_fields=["delivered_at", "delivery_error"])
    if outcome == "sent":
        log.info("voicemail: message %s emailed to %s", message.pk, ", ".join(addresses))
    return outcome


def _send(message: VoicemailMessage, addresses: list[str]) -> None:
    who = message.caller_name or message.caller_number or "an unknown caller"
    when = timezone.localtime(message.received_at)
    body = (
        f"New voicemail in {message.mailbox.owner}\n\n"
        f"From: {who} ({message.caller_number or 'no number'})\n"
        f"Received: {when:%Y-%m-%d %H:%M:%S %Z}\n"
        f"Length: {message.duration:.0f} s\n"
    )
    email = EmailMessage(
        subject=f"Voicemail from {who} ({message.duration:.0f} s)",
        body=body,
        from_email=settings.IPBX_VOICEMAIL_FROM,
        to=addresses,
    )
    path = Path(message.path)
    if path.is_file() and path.stat().st_size <= ATTACHMENT_MAX:
        email.attach(f"voicemail-{message.pk}.wav", path.read_bytes(), "audio/wav")
    else:
        email.body += "\n(The recording is too long to attach, or gone.)\n"
    email.send(fail_silently=False)


def deliver_pending() -> int:
    """Retry undelivered messages whose turn has come (icm had its go first); the count
    sent."""
    now = timezone.now()
    sent = 0
    rows = VoicemailMessage.objects.filter(
        delivered_at__isnull=True,
        delivery_attempts__lt=MAX_ATTEMPTS,
        received_at__lt=now - timedelta(seconds=30),
    ).order_by("received_at")
    for message in rows.values("pk", "delivery_attempts", "received_at")[:BATCH]:
        wait = timedelta(seconds=30) * 2 ** message["delivery_attempts"]
        if message["received_at"] + wait > now and message["delivery_attempts"]:
            continue
        sent += deliver(message["pk"]) == "sent"
    return sent
