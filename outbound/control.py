"""Starting, pausing, resuming and stopping a campaign (issue 9 item 3), its progress, and
who may do what: administrators every campaign, team leaders those of their work groups'
queues; every change is audited. Pausing or stopping tells icm to drop the calls it has not
placed yet (their attempts are sent again on resume: same keys, never dialed twice); calls
already ringing or talking carry on.

A campaign with answering-machine detection starts (or resumes) only when icm says its switch
has a detection module the campaign can use (issue 17: `campaign_floor`'s `detection`); the
pacer pauses it, with the reason shown on its page, an alarm in the system events and an
audit entry, when the switch turns out unable to detect (`pause_for`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Q

from icm import client as icm
from icm.bus.commands import CommandError, IcmUnavailable
from icm.models import SystemEvent
from outbound.dialer import detection_refusal, floor_of, switch_of
from outbound.models import Attempt, Campaign, Contact
from supervision.actions import SupervisionRefused, audit
from supervision.models import AuditEntry
from supervision.roles import TEAM_LEADER
from supervision.scope import scope_of

log = logging.getLogger(__name__)
MOVES = {
    "start": ({"draft", "stopped", "finished"}, Campaign.State.RUNNING),
    "pause": ({"running"}, Campaign.State.PAUSED),
    "resume": ({"paused"}, Campaign.State.RUNNING),
    "stop": ({"running", "paused"}, Campaign.State.STOPPED),
}


def visible(user: Any) -> Any:
    scope = scope_of(user)
    rows = Campaign.objects.select_related("queue")
    if scope.everything:
        return rows
    if scope.role != TEAM_LEADER:
        return rows.none()
    return rows.filter(queue__name__in=scope.queues)


def change(user: Any, name: str, action: str, address: str | None = None) -> dict[str, Any]:
    scope = scope_of(user)
    campaign = visible(user).filter(name=name).first()
    if campaign is None:
        raise LookupError(f"no campaign {name!r} of yours")
    if action not in MOVES:
        raise ValueError(f"action: one of {', '.join(MOVES)}")
    allowed, to = MOVES[action]
    if campaign.state not in allowed:
        audit(
            user,
            scope.role,
            f"campaign_{action}",
            "campaign",
            name,
            AuditEntry.Outcome.REFUSED,
            {"state": campaign.state},
            address,
        )
        raise SupervisionRefused(f"a {campaign.state} campaign cannot {action}")
    refusal = _cannot_detect(campaign) if to == Campaign.State.RUNNING else ""
    if refusal:
        audit(
            user,
            scope.role,
            f"campaign_{action}",
            "campaign",
            name,
            AuditEntry.Outcome.REFUSED,
            {"reason": refusal},
            address,
        )
        raise SupervisionRefused(f"{campaign.display_name} cannot {action}: {refusal}")
    updated = Campaign.objects.filter(pk=campaign.pk, state=campaign.state).update(
        state=to, state_changed_at=datetime.now(tz=UTC), state_reason=""
    )
    if not updated:
        raise SupervisionRefused("the campaign changed meanwhile: look again")
    if to != Campaign.State.RUNNING:
        _drop_unplaced(campaign)
    if action == "start" and campaign.state in ("stopped", "finished"):
        Contact.objects.filter(campaign=campaign, status=Contact.Status.CANCELLED).update(
            status=Contact.Status.PENDING
        )
    audit(
        user,
        scope.role,
        f"campaign_{action}",
        "campaign",
        name,
        AuditEntry.Outcome.OK,
        {"from": campaign.state, "to": to},
        address,
    )
    return progress(Campaign.objects.get(pk=campaign.pk))


def _cannot_detect(campaign: Campaign) -> str:
    """Why the campaign's switch cannot run its answering-machine detection ("": it can, the
    campaign does not use it, or icm cannot be asked now — then the pacer checks before it
    dials anything)."""
    if not campaign.amd or campaign.mode == Campaign.Mode.PREVIEW:
        return ""
    try:
        floor = floor_of(campaign)
    except (CommandError, IcmUnavailable) as exc:
        log.warning(
            "campaign %s: icm not asked which detection its switch has: %s", campaign.name, exc
        )
        return ""
    return detection_refusal(campaign, floor.get("detection"))


def pause_for(campaign: Campaign, reason: str) -> bool:
    """The platform pauses a running campaign (its switch cannot detect machines): the reason
    is kept for its page, raised as an alarm in the system events and audited. False: it was
    not running any more."""
    now = datetime.now(tz=UTC)
    updated = Campaign.objects.filter(pk=campaign.pk, state=Campaign.State.RUNNING).update(
        state=Campaign.State.PAUSED, state_changed_at=now, state_reason=reason[:300]
    )
    if not updated:
        return False
    log.error("campaign %s paused: %s", campaign.name, reason)
    _drop_unplaced(campaign)
    switch = ""
    try:
        switch = switch_of(campaign)
    except IcmUnavailable:
        pass
    SystemEvent.objects.create(
        at=now,
        switch=switch,
        kind=SystemEvent.Kind.ALARM_RAISED,
        alarm="campaign",
        subject=campaign.name[:128],
        severity="critical",
        text=f"campaign {campaign.name} paused: {reason}"[:300],
    )
    audit(
        None,
        "system",
        "campaign_pause",
        "campaign",
        campaign.name,
        AuditEntry.Outcome.OK,
        {"from": "running", "to": "paused", "reason": reason},
    )
    return True


def _drop_unplaced(campaign: Campaign) -> None:
    try:
        icm.campaign_stop(switch_of(campaign), campaign.name)
    except (CommandError, IcmUnavailable) as exc:
        log.warning("campaign %s: icm not told to drop its queue: %s", campaign.name, exc)


def progress(campaign: Campaign) -> dict[str, Any]:
    """What the campaign page shows: contacts by status, attempts by result, rates."""
    contacts = dict(campaign.contacts.values_list("status").annotate(n=Count("id")))
    results = dict(
        Attempt.objects.filter(campaign=campaign).values_list("result").annotate(n=Count("id"))
    )
    placed = Attempt.objects.filter(campaign=campaign, started_at__isnull=False).count()
    people = results.get("answered", 0) + results.get("abandoned", 0)
    total = sum(contacts.values())
    remaining = contacts.get("pending", 0) + contacts.get("dialing", 0)
    live = Attempt.objects.filter(
        campaign=campaign, started_at__isnull=False, ended_at__isnull=True
    ).aggregate(
        ringing=Count("id", filter=Q(answered_at__isnull=True)),
        talking=Count("id", filter=Q(answered_at__isnull=False)),
    )
    return {
        "name": campaign.name,
        "display_name": campaign.display_name,
        "mode": campaign.mode,
        "state": campaign.state,
        "state_reason": campaign.state_reason,
        "queue": campaign.queue.name if campaign.queue_id else "",
        "contacts": total,
        "remaining": remaining,
        "by_status": contacts,
        "dialed": placed,
        "results": {k or "in progress": v for k, v in results.items()},
        "connected": results.get("answered", 0),
        "abandoned_pct": round(100 * results.get("abandoned", 0) / people, 1) if people else None,
        "done_pct": round(100 * (total - remaining) / total, 1) if total else None,
        **live,
    }
