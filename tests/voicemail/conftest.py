"""Fixtures of the voicemail tests: a real SMTP server (aiosmtpd) that keeps what it gets,
and a team of agents and queues with mailboxes."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from tests.fixtures.esl_client import free_port
from tests.supervision.conftest import teams  # noqa: F401 - the agents and queues


@dataclass
class Inbox:
    """What the SMTP server received: parsed messages, with their envelope recipients."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings) -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free port; this process's Django sends through it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    try:
        yield inbox, port
    finally:
        controller.stop()
