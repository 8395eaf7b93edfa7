"""Follow-up campaigns (BIZ-6): one click turns a report's result into a draft campaign —
the callers of a queue over some days who **abandoned**, or whose call the agent closed with
a given **disposition** — with one contact per number (the latest call's data: queue, when,
disposition), do-not-call numbers left out. The campaign starts as a draft: the team leader
checks it, then starts it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from agents.models import ContactNote
from icm.models import Call, Queue
from outbound.importing import normalise
from outbound.models import Campaign, Contact, DoNotCall
from supervision.actions import SupervisionRefused, audit
from supervision.models import AuditEntry
from supervision.roles import is_supervisor
from supervision.scope import scope_of

SOURCES = ("abandoned", "disposition")
MAX_CONTACTS = 100_000


def _calls(source: str, queue: Queue, since: date, until: date, disposition: str) -> Any:
    zone = ZoneInfo(settings.TIME_ZONE)
    lo = datetime.combine(since, time(), tzinfo=zone)
    hi = datetime.combine(until + timedelta(days=1), time(), tzinfo=zone)
    calls = Call.objects.filter(queue=queue, created_at__gte=lo, created_at__lt=hi)
    if source == "abandoned":
        return calls.filter(attached_data__routing__outcome="abandoned")
    uuids = ContactNote.objects.filter(disposition__code=disposition).values("call_uuid")
    return calls.filter(call_uuid__in=uuids)


def create_followup(
    user: Any,
    source: str,
    queue_name: str,
    since: date,
    until: date,
    disposition: str = "",
    mode: str = "progressive",
    gateway: str = "",
    address: str | None = None,
) -> Campaign:
    scope = scope_of(user)
    if source not in SOURCES:
        raise ValueError(f"source: one of {', '.join(SOURCES)}")
    if source == "disposition" and not disposition:
        raise ValueError("give the disposition (its code)")
    if until < since or (until - since).days > 93:
        raise ValueError("a range of at most 93 days, until not before since")
    if not scope.has_queue(queue_name) or not is_supervisor(user):
        raise SupervisionRefused(f"queue {queue_name!r} is not one of yours")
    queue = Queue.objects.filter(name=queue_name).first()
    if queue is None:
        raise LookupError(f"no queue {queue_name!r}")
    template = Campaign.objects.filter(queue=queue).order_by("-created_at").first()
    gateway = gateway or (template.gateway if template else "")
    if not gateway:
        raise ValueError("give the gateway to call out on (no earlier campaign of this queue)")
    blocked = set(DoNotCall.objects.values_list("number", flat=True))
    latest: dict[str, Call] = {}
    for call in _calls(source, queue, since, until, disposition).order_by("created_at"):
        number = normalise(call.ani)
        if number and number not in blocked and number.lstrip("+") not in blocked:
            latest[number] = call
    what = f"{source} {disposition}".strip()
    base = slugify(f"{queue.name}-{what}-{since:%m%d}")[:56] or "follow-up"
    name, n = base, 1
    while Campaign.objects.filter(name=name).exists():
        n += 1
        name = f"{base}-{n}"
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            display_name=f"Follow-up: {queue.display_name}, {what}, {since} – {until}",
            mode=mode,
            state=Campaign.State.DRAFT,
            queue=queue,
            gateway=gateway,
            switch=template.switch if template else None,
            caller_id_number=template.caller_id_number if template else "",
            created_from=f"{what} calls of queue {queue.name} {since}…{until}",
        )
        Contact.objects.bulk_create(
            [
                Contact(
                    campaign=campaign,
                    number=number,
                    name=call.caller_name[:128],
                    data={
                        "last_call": call.created_at.isoformat(),
                        "queue": queue.name,
                        "reason": what,
                    },
                )
                for number, call in list(latest.items())[:MAX_CONTACTS]
            ]
        )
    audit(
        user,
        scope.role,
        "campaign_followup",
        "campaign",
        name,
        AuditEntry.Outcome.OK,
        {"source": source, "queue": queue.name, "contacts": len(latest)},
        address,
    )
    return campaign
