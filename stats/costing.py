"""Call costs (OPS-1): every ended trunk leg of the CDRs rated once into `stats.LegCost`,
and the costs summed per queue, agent, campaign or destination for the reports.

A **trunk leg** is an outbound leg whose channel is `sofia/gateway/<gateway>/<number>`, or
`sofia/<profile>/<number>@<host>` where the host is a gateway of the leg's switch (by name,
as switchsim writes it, or by its proxy's host, as FreeSWITCH does). Agents' phones
(`sofia/internal/<extension>@<phone address>`) never match. Its **kind** is `transfer_out`
when the call came in (a customer sent on to an outside number: a blind transfer, a consult
completed, an overflow to a number), otherwise `outbound` (an agent dialling, a call-back).
The queue and agent are the call's; a call without an agent (an agent's own call) is the
agent's whose phone is a leg of the same call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from stats.models import GatewayTariff, LegCost, LegKind, TariffPlan
from stats.rating import load_tariff
from stats.tariffs import Tariff, display

log = logging.getLogger(__name__)

LOCK = 7_314_002  # pg_advisory_xact_lock key of the rating (the aggregation's is 7_314_001)
LOOKBACK_DAYS = 35  # legs that ended longer ago are not looked at (bounds the anti-join)
REPORT_KEYS = {
    "queue": ("queue",),
    "agent": ("agent",),
    "campaign": ("campaign",),
    "destination": ("prefix", "destination"),
}

# The ended trunk legs not rated yet, oldest first, with what rating needs. %% is a literal %.
_NEW_TRUNK_LEGS = """
SELECT s.name, l.uuid, c.call_uuid, l.created_at, l.answered_at, l.hungup_at, l.dnis,
       COALESCE(gw.name, t.host), t.number, gw.id, c.direction, COALESCE(q.name, ''),
       COALESCE(a.login_id, phone.login_id, '')
FROM icm_callleg l
JOIN icm_call c ON c.id = l.call_id
JOIN icm_switch s ON s.id = l.switch_id
CROSS JOIN LATERAL (SELECT
    CASE WHEN l.channel_name LIKE 'sofia/gateway/%%' THEN split_part(l.channel_name, '/', 3)
         ELSE split_part(split_part(split_part(l.channel_name, '@', 2), ':', 1), ';', 1)
    END AS host,
    CASE WHEN l.channel_name LIKE 'sofia/gateway/%%' THEN split_part(l.channel_name, '/', 4)
         ELSE split_part(split_part(l.channel_name, '/', 3), '@', 1)
    END AS number) t
LEFT JOIN LATERAL (
    SELECT g.id, g.name FROM icm_gateway g
    WHERE g.switch_id = l.switch_id AND (g.name = t.host OR split_part(g.proxy, ':', 1) = t.host)
    ORDER BY g.name = t.host DESC, g.id LIMIT 1) gw ON true
LEFT JOIN icm_queue q ON q.id = c.queue_id
LEFT JOIN agents_agent a ON a.id = c.agent_id
LEFT JOIN LATERAL (
    SELECT ag.login_id FROM icm_callleg p
    JOIN icm_extension e ON e.site_id = s.site_id
     AND e.number = substring(p.channel_name FROM '^sofia/internal/(?:sip:)?([0-9*#+]+)@')
    JOIN agents_agent ag ON ag.extension_id = e.id
    WHERE p.call_id = l.call_id AND p.id <> l.id
    ORDER BY p.created_at, ag.active DESC, ag.id LIMIT 1) phone ON c.agent_id IS NULL
WHERE l.hungup_at IS NOT NULL
  AND (%(since)s::timestamptz IS NULL OR l.hungup_at >= %(since)s::timestamptz)
  AND l.direction = 'outbound' AND l.channel_name LIKE 'sofia/%%'
  AND (l.channel_name LIKE 'sofia/gateway/%%' OR gw.id IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM stats_legcost r WHERE r.switch = s.name AND r.leg_uuid = l.uuid)
ORDER BY l.hungup_at, l.id
LIMIT %(limit)s
"""

_INSERT_COSTS = """
INSERT INTO stats_legcost (switch, leg_uuid, call_uuid, started_at, answered_seconds, number,
                           gateway, kind, queue, agent, campaign, plan, prefix, destination,
                           billed_seconds, cost, currency, rated_at, unrated)
SELECT * FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::float8[], %s::text[],
    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
    %s::text[], %s::int[], %s::numeric[], %s::text[], %s::timestamptz[], %s::bool[])
ON CONFLICT (switch, leg_uuid) DO NOTHING
"""


class _Plans:
    """Which plan rates a gateway's legs, each plan loaded once per batch."""

    def __init__(self) -> None:
        self._by_gateway = dict(
            GatewayTariff.objects.filter(plan__active=True).values_list("gateway_id", "plan_id")
        )
        default = TariffPlan.objects.filter(active=True).order_by("name").first()
        self._default = default.pk if default else None
        self._loaded: dict[int, tuple[str, Tariff]] = {}

    def for_gateway(self, gateway_id: int | None) -> tuple[str, Tariff] | None:
        plan_id = self._by_gateway.get(gateway_id, self._default) if gateway_id else self._default
        if plan_id is None:
            return None
        if plan_id not in self._loaded:
            plan = TariffPlan.objects.get(pk=plan_id)
            self._loaded[plan_id] = (plan.name, load_tariff(plan))
        return self._loaded[plan_id]


def _dialled(channel_number: str, dnis: str) -> str:
    number = channel_number.removeprefix("sip:")
    return (number or dnis)[:64]


def _cost_row(row: tuple[Any, ...], plans: _Plans, zone: ZoneInfo, now: datetime) -> list[Any]:
    (
        switch,
        leg,
        call,
        created,
        answered,
        hungup,
        dnis,
        gateway,
        channel_number,
        gateway_id,
        direction,
        queue,
        agent,
    ) = row
    number = _dialled(channel_number, dnis)
    seconds = max(0.0, (hungup - answered).total_seconds()) if answered else 0.0
    plan = plans.for_gateway(gateway_id)
    name, currency, prefix, destination, billed, cost = "", "", "", "", 0, None
    if plan is not None:
        name, tariff = plan
        rating = tariff.rate(number, (answered or created).astimezone(zone).date(), seconds)
        currency, billed, cost = tariff.currency, rating.billed_seconds, rating.cost
        if rating.rate is not None:
            prefix, destination = rating.rate.prefix, rating.rate.description[:200]
    elif seconds <= 0:
        cost = Decimal("0.0000")  # unanswered costs nothing, with or without a plan
    kind = LegKind.TRANSFER_OUT if direction == "inbound" else LegKind.OUTBOUND
    return [
        switch,
        leg,
        call,
        created,
        round(seconds, 3),
        number,
        gateway[:64],
        str(kind),
        queue,
        agent,
        "",
        name,
        prefix,
        destination,
        billed,
        cost,
        currency,
        now,
        cost is None,
    ]


def rate_new_legs(limit: int = 5000, lookback_days: int | None = LOOKBACK_DAYS) -> int:
    """Rate up to `limit` ended trunk legs not rated yet (those that ended in the last
    `lookback_days`; None: all); returns how many were written. One transaction under an
    advisory lock: a second worker waits, then finds them rated. A leg is written once
    (unique per switch and leg, ON CONFLICT DO NOTHING), so a run repeated rates nothing."""
    started = time.perf_counter()
    zone = ZoneInfo(settings.TIME_ZONE)
    now = timezone.now()
    since = now - timedelta(days=lookback_days) if lookback_days is not None else None
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        cur.execute(_NEW_TRUNK_LEGS, {"since": since, "limit": limit})
        rows = cur.fetchall()
        if not rows:
            return 0
        plans = _Plans()
        costs = [_cost_row(row, plans, zone, now) for row in rows]
        cur.execute(_INSERT_COSTS, [list(column) for column in zip(*costs, strict=True)])
        written = cur.rowcount
    unrated = sum(1 for row in costs if row[-1])
    log.info(
        "stats: rated %d trunk legs (%d without a rate) in %.2f s",
        written,
        unrated,
        time.perf_counter() - started,
    )
    return written


def _day_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(settings.TIME_ZONE)
    midnight = datetime.min.time()
    lo = datetime.combine(since, midnight, tzinfo=zone)
    return lo, datetime.combine(until + timedelta(days=1), midnight, tzinfo=zone)


def cost_report(
    since: date,
    until: date,
    by: str,
    queues: Iterable[str] | None = None,
    agents: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The rated legs that started on the local days since … until (inclusive), summed per
    `by` (queue | agent | campaign | destination) and currency, in key order. Each row: key,
    legs, unrated (legs without a rate, in `legs` but not in `cost`), seconds (answered),
    billed_seconds, cost (the 4-decimal leg costs summed, then rounded to 2) and currency;
    destination rows also carry prefix and description ("" for legs without a rate).
    `queues` / `agents` keep only those (None: all; an empty set: nothing)."""
    if by not in REPORT_KEYS:
        raise ValueError(f"cost by what? one of {sorted(REPORT_KEYS)}")
    lo, hi = _day_bounds(since, until)
    rows = LegCost.objects.filter(started_at__gte=lo, started_at__lt=hi)
    if queues is not None:
        rows = rows.filter(queue__in=list(queues))
    if agents is not None:
        rows = rows.filter(agent__in=list(agents))
    keys = REPORT_KEYS[by]
    sums = (
        rows.values(*keys, "currency")
        .annotate(
            legs=Count("id"),
            unrated_legs=Count("id", filter=Q(unrated=True)),
            seconds=Sum("answered_seconds"),
            billed=Sum("billed_seconds"),
            total=Sum("cost"),
        )
        .order_by(*keys, "currency")
    )
    report = []
    for row in sums:
        item = {
            "key": " ".join(row[k] for k in keys if row[k]),
            "legs": row["legs"],
            "unrated": row["unrated_legs"],
            "seconds": round(row["seconds"] or 0),
            "billed_seconds": row["billed"] or 0,
            "cost": display(row["total"] or Decimal(0)),
            "currency": row["currency"],
        }
        if by == "destination":
            item.update(prefix=row["prefix"], description=row["destination"])
        report.append(item)
    return report
