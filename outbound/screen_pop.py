"""What the agent's screen pop shows of a campaign contact (issue 9 item 1): the campaign,
the contact's name and list fields, which attempt this is, and every earlier attempt with
its result, its agent, and that agent's disposition and notes."""

from __future__ import annotations

from typing import Any

from agents.models import ContactNote
from outbound.dialer import dials_made
from outbound.models import Attempt

HISTORY = 10


def campaign_card(attached: dict[str, Any]) -> dict[str, Any] | None:
    """The card of the campaign attempt named in a contact's attached data, or None."""
    key = str(attached.get("attempt") or "")
    if not key:
        return None
    attempt = Attempt.objects.filter(key=key).select_related("campaign", "contact").first()
    if attempt is None:
        return None
    campaign, contact = attempt.campaign, attempt.contact
    earlier = list(
        Attempt.objects.filter(contact=contact, attempt__lt=attempt.attempt).order_by("-attempt")[
            :HISTORY
        ]
    )
    notes = {
        n.call_uuid: n
        for n in ContactNote.objects.filter(
            call_uuid__in=[a.call_uuid for a in earlier if a.call_uuid]
        )
        .select_related("disposition")
        .order_by("at")
    }  # the latest note of each call wins
    return {
        "campaign": campaign.display_name,
        "campaign_name": campaign.name,
        "mode": campaign.mode,
        "name": contact.name,
        "number": contact.number,
        "fields": {str(k): v for k, v in (contact.data or {}).items()},
        "attempt": attempt.attempt,
        "max_attempts": campaign.max_attempts,
        "last_attempt": dials_made(contact) >= campaign.max_attempts,
        "callback": bool(contact.callback_agent),
        "history": [
            {
                "at": (a.started_at or a.requested_at).isoformat(),
                "result": a.result or "in progress",
                "agent": a.agent,
                "disposition": a.disposition,
                "notes": notes[a.call_uuid].notes if a.call_uuid in notes else "",
            }
            for a in earlier
        ],
    }
