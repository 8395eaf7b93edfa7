"""An agent's "call back at …" on a campaign call it handled (issue 9 item 1, AG-17): the
contact's next attempt is due at that time, and it rings that agent first (or, when it is
booked for anyone, goes to the campaign's queue like any other attempt).

Checked before the agent's wrap-up ends (so a refusal leaves the agent where it was): the
time is in the future and within 30 days, inside the campaign's calling hours in the
contact's time zone, and the contact has an attempt left. Recorded on the attempt under the
campaign's lock (the pacer's settle step reads it); a contact the pacer already settled is
opened again at once, and a campaign that had finished runs again for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from outbound.dialer import LOCK_BASE, apply_result, dials_made, windows_of
from outbound.domain.windows import allowed, contact_zone, next_opening
from outbound.models import Attempt, Campaign, Contact

MAX_AHEAD = timedelta(days=30)


class CampaignCallbackRefused(ValueError):
    """A call-back the campaign cannot take; the message says why."""


def campaign_attempt(call_uuid: str) -> Attempt | None:
    """The campaign attempt whose call this is (its leg), or None."""
    if not call_uuid:
        return None
    return (
        Attempt.objects.filter(call_uuid=call_uuid)
        .select_related("campaign", "contact")
        .order_by("-id")
        .first()
    )


def check(attempt: Attempt, at: datetime, now: datetime | None = None) -> None:
    """Refuse a call-back time the campaign could not keep."""
    now = now or timezone.now()
    if at.tzinfo is None:
        raise CampaignCallbackRefused("the call-back's time needs its time zone")
    if at <= now:
        raise CampaignCallbackRefused("the call-back's time has passed")
    if at > now + MAX_AHEAD:
        raise CampaignCallbackRefused("a call-back is booked at most 30 days ahead")
    campaign, contact = attempt.campaign, attempt.contact
    if dials_made(contact) >= campaign.max_attempts:
        raise CampaignCallbackRefused(
            f"this contact has had its {campaign.max_attempts} attempts: book the call-back "
            "under Call-backs instead"
        )
    windows = windows_of(campaign)
    zone = contact_zone(contact.time_zone or None, campaign.time_zone)
    if windows and not allowed(windows, zone, at):
        opening = next_opening(windows, zone, at)
        later = (
            f"; the next opening is {opening.astimezone(zone):%a %d %b %H:%M}" if (opening) else ""
        )
        raise CampaignCallbackRefused(
            f"{at.astimezone(zone):%a %d %b %H:%M} is outside the campaign's calling hours "
            f"in the contact's time zone ({zone.key}){later}"
        )


def book(
    attempt: Attempt, at: datetime, agent_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """Record the call-back (`agent_id` "": for anyone of the queue)."""
    now = now or timezone.now()
    campaign = attempt.campaign
    with transaction.atomic():
        with connection.cursor() as cur:  # the pacer's settle step waits, or we wait for it
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_BASE + campaign.pk])
        attempt = Attempt.objects.select_for_update().select_related("campaign").get(pk=attempt.pk)
        contact = Contact.objects.select_for_update().get(pk=attempt.contact_id)
        attempt.contact = contact
        check(attempt, at, now)  # again, as it is now
        if contact.attempts != attempt.attempt:
            raise CampaignCallbackRefused(
                f"the contact is being called again (attempt {contact.attempts}): no call-back"
            )
        if contact.status == Contact.Status.DNC:
            raise CampaignCallbackRefused("the contact is on the do-not-call list")
        attempt.callback_at, attempt.callback_agent = at, agent_id
        attempt.save(update_fields=["callback_at", "callback_agent"])
        # still being dialed: the pacer's settle step reads the call-back; settled already
        # (done, or a retry due at its delay): the call-back replaces that
        if contact.status != Contact.Status.DIALING and attempt.ended_at is not None:
            apply_result(campaign, contact, attempt, now)
        # a campaign that finished with this contact runs again for its call-back (a paused
        # or stopped one keeps it until it is resumed)
        Campaign.objects.filter(pk=campaign.pk, state=Campaign.State.FINISHED).update(
            state=Campaign.State.RUNNING, state_changed_at=now
        )
    return {
        "campaign": campaign.name,
        "number": attempt.number,
        "callback_at": at.isoformat(),
        "agent": agent_id,
    }
