"""Queue figures from the CDRs (R-7, OPS-3): offered, answered, abandoned, overflowed,
service level, abandon rate and average speed of answer, computed in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, F, FloatField, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from icm.models import Call, Queue


def queue_report(queue: Queue, since: datetime, until: datetime) -> dict[str, Any]:
    """Figures of the calls that entered `queue` between `since` and `until`.

    Service level: answered within the queue's threshold, over answered + abandoned (calls
    overflowed elsewhere are not counted against the queue); ASA over answered calls.
    """
    calls = (
        Call.objects.filter(queue=queue, created_at__gte=since, created_at__lt=until)
        .annotate(outcome=KT("attached_data__routing__outcome"))
        .annotate(waited=Cast(KT("attached_data__routing__waited"), FloatField()))
    )
    threshold = float(queue.service_level_seconds)
    figures = calls.aggregate(
        offered=Count("id", filter=Q(outcome__isnull=False)),
        answered=Count("id", filter=Q(outcome="answered")),
        abandoned=Count("id", filter=Q(outcome="abandoned")),
        overflowed=Count("id", filter=Q(outcome="overflowed")),
        within=Count("id", filter=Q(outcome="answered", waited__lte=threshold)),
        asa=Avg(F("waited"), filter=Q(outcome="answered")),
    )
    handled = figures["answered"] + figures["abandoned"]
    return {
        "queue": queue.name,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "offered": figures["offered"],
        "answered": figures["answered"],
        "abandoned": figures["abandoned"],
        "overflowed": figures["overflowed"],
        "service_level_seconds": threshold,
        "service_level": round(figures["within"] / handled, 4) if handled else None,
        "abandon_rate": round(figures["abandoned"] / figures["offered"], 4)
        if figures["offered"]
        else None,
        "asa_seconds": round(figures["asa"], 3) if figures["asa"] is not None else None,
    }
