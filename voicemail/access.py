"""Who may open which mailbox (IVR-7, ICM-8 scope), and the operation log of every action on a
message — refusals included:

- an administrator: every mailbox;
- a team leader: its work groups' queue mailboxes;
- an agent: its own mailbox, the mailboxes it is a member of (a department's), and the queue
  mailboxes of its work groups (a queue's message becomes a call-back its team answers);
- anyone else: nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from supervision.roles import ADMINISTRATOR, TEAM_LEADER
from supervision.scope import scope_of
from voicemail.models import Mailbox, VoicemailAccess, VoicemailMessage


class VoicemailRefused(PermissionError):
    """Not this user's to hear or change; the message says why."""


def mailboxes(user: Any) -> QuerySet[Mailbox]:
    """The mailboxes `user` may open."""
    rows = Mailbox.objects.select_related("agent", "queue")
    if not getattr(user, "is_authenticated", False):
        return rows.none()
    scope = scope_of(user)
    if scope.role == ADMINISTRATOR:
        return rows
    allowed = Q(pk__in=[])
    if scope.role == TEAM_LEADER:
        allowed |= Q(kind=Mailbox.Kind.QUEUE, queue__name__in=scope.queues)
    agent = getattr(user, "agent", None)
    if agent is not None:
        team_queues = agent.work_groups.values_list("queues", flat=True)
        allowed |= Q(agent=agent) | Q(members=agent)
        allowed |= Q(kind=Mailbox.Kind.QUEUE, queue__in=team_queues)
    return rows.filter(allowed).distinct()


def messages(user: Any) -> QuerySet[VoicemailMessage]:
    """The messages `user` may find (not deleted)."""
    return VoicemailMessage.objects.filter(
        mailbox__in=mailboxes(user), deleted_at__isnull=True
    ).select_related("mailbox__agent", "mailbox__queue")


def log(
    message: VoicemailMessage, user: Any, kind: str, address: str | None = None, detail: str = ""
) -> VoicemailAccess:
    return VoicemailAccess.objects.create(
        message=message,
        user=user if getattr(user, "is_authenticated", False) else None,
        username=getattr(user, "username", "") or "anonymous",
        kind=kind,
        address=address,
        detail=detail[:300],
    )


def fetch(user: Any, message_id: int, kind: str, address: str | None = None) -> VoicemailMessage:
    """The message for `kind` (listen, heard, delete, forward) by `user`; a refusal is logged
    (when the message exists) and raised; LookupError when there is no such message."""
    message = (
        VoicemailMessage.objects.filter(pk=message_id, deleted_at__isnull=True)
        .select_related("mailbox__agent__extension__site", "mailbox__queue")
        .first()
    )
    if message is None:
        raise LookupError(f"no message {message_id}")
    if not messages(user).filter(pk=message_id).exists():
        log(message, user, VoicemailAccess.Kind.REFUSED, address, f"{kind}: not yours")
        raise VoicemailRefused("this message is not in a mailbox you may open")
    return message
