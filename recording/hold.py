"""Legal hold (REC-7): an administrator puts a recording under hold — retention then never
deletes it — or lifts it, with a reason; both are in the recording's operation log."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from recording.access import RecordingRefused, log, visible
from recording.models import Recording, RecordingAccess
from supervision.roles import ADMINISTRATOR, role_of


class BadHold(ValueError):
    """A hold request without its reason or its on / off."""


def set_hold(
    user: Any, recording_id: int, hold: Any, reason: Any, address: str | None = None
) -> Recording:
    if role_of(user) != ADMINISTRATOR:
        raise RecordingRefused("only administrators put recordings under legal hold")
    if not isinstance(hold, bool):
        raise BadHold('"hold" is true (put under hold) or false (lift it)')
    reason = str(reason or "").strip()
    if not reason:
        raise BadHold("give the reason (e.g. the case or request reference)")
    with transaction.atomic():
        recording = visible(user).select_for_update().filter(pk=recording_id).first()
        if recording is None:
            raise LookupError(f"no recording {recording_id}")
        if recording.legal_hold != hold:
            recording.legal_hold = hold
            recording.save(update_fields=["legal_hold"])
        log(
            recording,
            user,
            RecordingAccess.Kind.HOLD,
            address,
            f"{'on' if hold else 'off'}: {reason}",
        )
    return recording
