"""Who may find, listen to and download which recordings (REC-6), and the operation log of
every action on a recording — refusals included.

- an administrator: every recording; listens and downloads;
- a team leader: the recordings of its work groups' agents and queues; listens; downloads
  only with the `recording.download_recording` permission;
- an agent: its own recordings; listens only;
- anyone else: nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from recording.models import Recording, RecordingAccess
from supervision.roles import ADMINISTRATOR, TEAM_LEADER
from supervision.scope import scope_of

LISTEN_SECONDS = 600  # a user's requests of one recording within this are one listen


class RecordingRefused(PermissionError):
    """Not this user's to see or to take; the message says why."""


def visible(user: Any) -> QuerySet[Recording]:
    """The recordings `user` may find."""
    return in_scope(user).exclude(status=Recording.Status.DELETED)


def in_scope(user: Any) -> QuerySet[Recording]:
    """The recordings of `user`'s scope, those whose file retention deleted included (their
    catalogue rows and QA evaluations stay: QA statistics count them)."""
    rows = Recording.objects.all()
    scope = scope_of(user)
    if scope.role == ADMINISTRATOR:
        return rows
    if scope.role == TEAM_LEADER:
        return rows.filter(Q(agent__login_id__in=scope.agents) | Q(queue__name__in=scope.queues))
    agent = getattr(user, "agent", None) if getattr(user, "is_authenticated", False) else None
    if agent is not None:
        return rows.filter(agent=agent)
    return rows.none()


def may_download(user: Any) -> bool:
    role = scope_of(user).role
    return role == ADMINISTRATOR or (
        role == TEAM_LEADER and user.has_perm("recording.download_recording")
    )


def log(
    recording: Recording, user: Any, kind: str, address: str | None = None, detail: str = ""
) -> RecordingAccess:
    return RecordingAccess.objects.create(
        recording=recording,
        user=user if getattr(user, "is_authenticated", False) else None,
        username=getattr(user, "username", "") or "anonymous",
        kind=kind,
        address=address,
        detail=detail[:300],
    )


def fetch(user: Any, recording_id: int, kind: str, address: str | None = None) -> Recording:
    """The recording for a listen or a download by `user` — logged; a refusal is logged
    too (when the recording exists) and raised."""
    recording = Recording.objects.filter(pk=recording_id).first()
    if recording is None or recording.status == Recording.Status.DELETED:
        raise LookupError(f"no recording {recording_id}")
    if not visible(user).filter(pk=recording_id).exists():
        log(recording, user, RecordingAccess.Kind.REFUSED, address, f"{kind}: not yours")
        raise RecordingRefused("this recording is not one you may hear")
    if kind == RecordingAccess.Kind.DOWNLOAD and not may_download(user):
        log(recording, user, RecordingAccess.Kind.REFUSED, address, "download: role")
        raise RecordingRefused("your role may listen to recordings but not download them")
    if recording.status != Recording.Status.READY:
        raise LookupError(f"recording {recording_id} is {recording.get_status_display().lower()}")
    if kind == RecordingAccess.Kind.LISTEN:
        log_listen(recording, user, address)
    else:
        log(recording, user, kind, address)
    return recording


def log_listen(recording: Recording, user: Any, address: str | None = None) -> bool:
    """Log a listen unless `user` listened to `recording` in the last LISTEN_SECONDS: a
    player's requests — the first, its byte ranges while seeking, a replay — are one listen,
    and a range request alone (from any byte) is one too. True when it was logged."""
    if not getattr(user, "is_authenticated", False):
        log(recording, user, RecordingAccess.Kind.LISTEN, address)
        return True
    with transaction.atomic():  # one request at a time decides, per recording
        Recording.objects.select_for_update().filter(pk=recording.pk).values_list("pk").first()
        recent = RecordingAccess.objects.filter(
            recording=recording,
            user=user,
            kind=RecordingAccess.Kind.LISTEN,
            at__gte=timezone.now() - timedelta(seconds=LISTEN_SECONDS),
        ).exists()
        if not recent:
            log(recording, user, RecordingAccess.Kind.LISTEN, address)
    return not recent
