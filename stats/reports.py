"""The reports (ST-3, ST-4) over the interval tables: each report is a `Report` — title,
columns, rows, totals and a chart — built from set-based queries and the definitions of
docs/stats.md. The pages, the REST API and the CSV / XLSX exports all render the same
`Report`, so they always show the same numbers.

Filters (`Filters.parse`): local dates since … until (inclusive), queue, work group (its
queues and agents), agent — narrowed to the user's scope (team leaders: their work groups'
queues and agents; administrators: everything).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum

from agents.models import Agent, WorkGroup
from outbound.models import Attempt
from stats.models import AgentInterval, ContactFact, ContactInterval, NotReadyInterval
from supervision.scope import Scope

MAX_DAYS = 400
CONTACT_SUMS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "overflowed",
    "answered_in_sl",
    "wait_answered",
    "wait_abandoned",
    "talk",
    "hold",
    "wrap",
    "transfers",
)
AGENT_SUMS = (
    "handled",
    "talk",
    "hold",
    "wrap",
    "transfers",
    "ready",
    "reserved",
    "on_call",
    "wrap_up",
    "not_ready",
)
ABANDON_BUCKETS = ((0, 5), (5, 10), (10, 30), (30, 60), (60, 120), (120, None))


class BadFilter(ValueError):
    """A filter that cannot be used; the message says which."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # int | pct | seconds | text | time | money


@dataclass
class Report:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] = field(default_factory=dict)
    chart: dict[str, Any] = field(default_factory=dict)  # {"x": key, "series": [(key, label)]}
    filters: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "filters": self.filters,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": self.rows,
            "totals": self.totals,
            "chart": self.chart,
        }


@dataclass(frozen=True)
class Filters:
    since: date
    until: date
    queues: frozenset[str] | None  # None: every queue
    agents: frozenset[str] | None
    given: dict[str, str]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(settings.TIME_ZONE)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(), tzinfo=self.zone)

    @classmethod
    def parse(cls, params: Any, scope: Scope, today: date | None = None) -> Filters:
        today = today or datetime.now(tz=ZoneInfo(settings.TIME_ZONE)).date()
        given = {
            k: str(params.get(k, "")).strip()
            for k in ("since", "until", "date", "queue", "group", "agent")
        }
        try:
            day = date.fromisoformat(given["date"]) if given["date"] else None
            since = date.fromisoformat(given["since"]) if given["since"] else (day or today)
            until = date.fromisoformat(given["until"]) if given["until"] else (day or since)
        except ValueError as exc:
            raise BadFilter("dates are YYYY-MM-DD (since, until, date)") from exc
        if until < since:
            raise BadFilter("until is before since")
        if (until - since).days >= MAX_DAYS:
            raise BadFilter(f"at most {MAX_DAYS} days at a time")
        queues: set[str] | None = None if scope.everything else set(scope.queues)
        agents: set[str] | None = None if scope.everything else set(scope.agents)
        if given["group"]:
            group = WorkGroup.objects.filter(name=given["group"]).first()
            if group is None:
                raise BadFilter(f"no work group {given['group']!r}")
            queues = _narrow(queues, group.queues.values_list("name", flat=True))
            agents = _narrow(agents, group.agents.values_list("login_id", flat=True))
        if given["queue"]:
            if not scope.has_queue(given["queue"]):
                raise BadFilter(f"queue {given['queue']!r} is not one of yours")
            queues = _narrow(queues, [given["queue"]])
        if given["agent"]:
            if not scope.has_agent(given["agent"]):
                raise BadFilter(f"agent {given['agent']!r} is not one of yours")
            agents = _narrow(agents, [given["agent"]])
        given.update(since=since.isoformat(), until=until.isoformat())
        return cls(
            since,
            until,
            None if queues is None else frozenset(queues),
            None if agents is None else frozenset(agents),
            given,
        )


def _narrow(current: set[str] | None, allowed: Iterable[str]) -> set[str]:
    allowed = set(allowed)
    return allowed if current is None else current & allowed


# --- the figures of a set of sums --------------------------------------------------------
def _ratio(top: float, bottom: float, scale: float = 1.0, digits: int = 1) -> float | None:
    return round(scale * top / bottom, digits) if bottom else None


def contact_figures(s: dict[str, Any]) -> dict[str, Any]:
    """Rates and averages of summed contact intervals (docs/stats.md's definitions)."""
    s = {k: (s.get(k) or 0) for k in (*CONTACT_SUMS, "max_wait")}
    counted = s["answered"] + s["abandoned"] - s["short_abandoned"]
    return {
        **s,
        "sl_pct": _ratio(s["answered_in_sl"], counted, 100),
        "abandoned_pct": _ratio(
            s["abandoned"] - s["short_abandoned"], s["offered"] - s["short_abandoned"], 100
        ),
        "asa": _ratio(s["wait_answered"], s["answered"]),
        "avg_talk": _ratio(s["talk"], s["answered"]),
        "avg_hold": _ratio(s["hold"], s["answered"]),
        "avg_wrap": _ratio(s["wrap"], s["answered"]),
        "aht": _ratio(s["talk"] + s["hold"] + s["wrap"], s["answered"]),
        "avg_abandon_wait": _ratio(s["wait_abandoned"], s["abandoned"]),
        "max_wait": round(s["max_wait"], 1),
    }


def agent_figures(s: dict[str, Any]) -> dict[str, Any]:
    s = {k: (s.get(k) or 0) for k in AGENT_SUMS}
    busy = s["reserved"] + s["on_call"] + s["wrap_up"]
    signed_in = busy + s["ready"] + s["not_ready"]
    return {
        **s,
        "signed_in": round(signed_in, 1),
        "aht": _ratio(s["talk"] + s["hold"] + s["wrap"], s["handled"]),
        "occupancy_pct": _ratio(busy, busy + s["ready"], 100),
        "utilisation_pct": _ratio(busy, signed_in, 100),
    }


def _contacts(f: Filters, period: str) -> QuerySet[ContactInterval]:
    rows = ContactInterval.objects.filter(
        period=period, dimension="queue", start__gte=f.start, start__lt=f.end
    )
    return rows if f.queues is None else rows.filter(key__in=f.queues)


def _agents(f: Filters, period: str) -> QuerySet[AgentInterval]:
    rows = AgentInterval.objects.filter(period=period, start__gte=f.start, start__lt=f.end)
    return rows if f.agents is None else rows.filter(agent__in=f.agents)


def _sums(rows: QuerySet[Any], names: Iterable[str], by: Iterable[str] = ()) -> Any:
    measures = {n: Sum(n) for n in names}
    if "max_wait" in {f.name for f in rows.model._meta.fields}:
        measures["max_wait"] = Max("max_wait")
    if by:
        return rows.values(*by).annotate(**measures).order_by(*by)
    return rows.aggregate(**measures)


def _local(moment: datetime, fmt: str) -> str:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime(fmt)


QUEUE_COLUMNS = [
    Column("offered", "Offered"),
    Column("answered", "Answered"),
    Column("abandoned", "Abandoned"),
    Column("short_abandoned", "Short abandons"),
    Column("overflowed", "Overflowed"),
    Column("sl_pct", "Service level %", "pct"),
    Column("asa", "ASA (s)", "seconds"),
    Column("aht", "AHT (s)", "seconds"),
    Column("avg_talk", "Talk (s)", "seconds"),
    Column("avg_wrap", "Wrap-up (s)", "seconds"),
    Column("max_wait", "Max wait (s)", "seconds"),
    Column("transfers", "Transfers"),
]


def intraday(f: Filters) -> Report:
    """Queue performance per 15 minutes of the chosen day(s)."""
    rows = []
    for r in _sums(_contacts(f, "15m"), CONTACT_SUMS, ("start",)):
        rows.append({"interval": _local(r["start"], "%Y-%m-%d %H:%M"), **contact_figures(r)})
    totals = contact_figures(_sums(_contacts(f, "day"), CONTACT_SUMS))
    return Report(
        "intraday",
        "Intraday queue performance",
        [Column("interval", "Interval", "time"), *QUEUE_COLUMNS],
        rows,
        totals,
        {
            "x": "interval",
            "series": [
                ("offered", "Offered"),
                ("answered", "Answered"),
                ("abandoned", "Abandoned"),
            ],
            "y2": ("sl_pct", "Service level %"),
        },
    )


def hourly(f: Filters) -> Report:
    """Traffic per hour of the day over the date range (all days summed)."""
    hours: dict[int, dict[str, float]] = {}
    for r in _sums(_contacts(f, "15m"), CONTACT_SUMS, ("start",)):
        hour = r["start"].astimezone(f.zone).hour
        bucket = hours.setdefault(hour, dict.fromkeys((*CONTACT_SUMS, "max_wait"), 0.0))
        for k in CONTACT_SUMS:
            bucket[k] += r[k] or 0
        bucket["max_wait"] = max(bucket["max_wait"], r["max_wait"] or 0)
    days = (f.until - f.since).days + 1
    rows = [
        {
            "hour": f"{h:02d}:00",
            **contact_figures(s),
            "offered_per_day": round(s["offered"] / days, 1),
        }
        for h, s in sorted(hours.items())
    ]
    totals = contact_figures(_sums(_contacts(f, "day"), CONTACT_SUMS))
    totals["offered_per_day"] = round((totals["offered"] or 0) / days, 1)
    return Report(
        "hourly",
        "Hourly traffic",
        [
            Column("hour", "Hour", "time"),
            Column("offered_per_day", "Offered per day", "seconds"),
            *QUEUE_COLUMNS,
        ],
        rows,
        totals,
        {
            "x": "hour",
            "series": [
                ("offered", "Offered"),
                ("answered", "Answered"),
                ("abandoned", "Abandoned"),
            ],
        },
    )


def queues(f: Filters) -> Report:
    """Each queue over the date range."""
    rows = [
        {"queue": r["key"], **contact_figures(r)}
        for r in _sums(_contacts(f, "day"), CONTACT_SUMS, ("key",))
    ]
    totals = contact_figures(_sums(_contacts(f, "day"), CONTACT_SUMS))
    return Report(
        "queues",
        "Queue summary",
        [Column("queue", "Queue", "text"), *QUEUE_COLUMNS],
        rows,
        totals,
        {"x": "queue", "series": [("answered", "Answered"), ("abandoned", "Abandoned")]},
    )


def agents(f: Filters) -> Report:
    """The agent performance scorecard over the date range."""
    names = dict(Agent.objects.values_list("login_id", "name"))
    rows = [
        {"agent": r["agent"], "name": names.get(r["agent"], ""), **agent_figures(r)}
        for r in _sums(_agents(f, "day"), AGENT_SUMS, ("agent",))
    ]
    totals = agent_figures(_sums(_agents(f, "day"), AGENT_SUMS))
    return Report(
        "agents",
        "Agent scorecard",
        [
            Column("agent", "Agent", "text"),
            Column("name", "Name", "text"),
            Column("handled", "Calls handled"),
            Column("aht", "AHT (s)", "seconds"),
            Column("talk", "Talk (s)", "seconds"),
            Column("wrap", "Wrap-up (s)", "seconds"),
            Column("transfers", "Transfers"),
            Column("signed_in", "Signed in (s)", "seconds"),
            Column("ready", "Ready (s)", "seconds"),
            Column("not_ready", "Not ready (s)", "seconds"),
            Column("occupancy_pct", "Occupancy %", "pct"),
            Column("utilisation_pct", "Utilisation %", "pct"),
        ],
        rows,
        totals,
        {
            "x": "agent",
            "series": [("occupancy_pct", "Occupancy %"), ("utilisation_pct", "Utilisation %")],
        },
    )


def not_ready(f: Filters) -> Report:
    """Not-ready time per agent and reason over the date range."""
    rows_q = NotReadyInterval.objects.filter(period="day", start__gte=f.start, start__lt=f.end)
    if f.agents is not None:
        rows_q = rows_q.filter(agent__in=f.agents)
    per = (
        rows_q.values("agent", "reason")
        .annotate(seconds=Sum("seconds"))
        .order_by("agent", "reason")
    )
    signed = {
        r["agent"]: agent_figures(r)["signed_in"]
        for r in _sums(_agents(f, "day"), AGENT_SUMS, ("agent",))
    }
    rows = [
        {
            "agent": r["agent"],
            "reason": r["reason"] or "(none)",
            "seconds": round(r["seconds"], 1),
            "of_signed_in_pct": _ratio(r["seconds"], signed.get(r["agent"], 0), 100),
        }
        for r in per
    ]
    by_reason: dict[str, float] = {}
    for r in rows:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + r["seconds"]
    total = sum(by_reason.values())
    return Report(
        "not_ready",
        "Not-ready analysis",
        [
            Column("agent", "Agent", "text"),
            Column("reason", "Reason", "text"),
            Column("seconds", "Seconds", "seconds"),
            Column("of_signed_in_pct", "% of signed-in time", "pct"),
        ],
        rows,
        {"seconds": round(total, 1)},
        {
            "x": "reason",
            "bars": [{"reason": k, "seconds": round(v, 1)} for k, v in sorted(by_reason.items())],
        },
    )


def abandoned(f: Filters) -> Report:
    """Abandoned calls per queue and day, and how long callers waited before giving up."""
    rows = [
        {"day": _local(r["start"], "%Y-%m-%d"), "queue": r["key"], **contact_figures(r)}
        for r in _sums(_contacts(f, "day"), CONTACT_SUMS, ("start", "key"))
    ]
    facts = ContactFact.objects.filter(
        outcome="abandoned", entered_at__gte=f.start, entered_at__lt=f.end
    )
    if f.queues is not None:
        facts = facts.filter(queue__in=f.queues)
    counts = {}
    for n, (lo, hi) in enumerate(ABANDON_BUCKETS):
        when = Q(wait_seconds__gte=lo) & (Q(wait_seconds__lt=hi) if hi is not None else Q())
        counts[f"b{n}"] = Count("id", filter=when)
    got = facts.aggregate(**counts)
    buckets = [
        {"waited": f"{lo}–{hi} s" if hi else f"{lo} s +", "calls": got[f"b{n}"]}
        for n, (lo, hi) in enumerate(ABANDON_BUCKETS)
    ]
    totals = contact_figures(_sums(_contacts(f, "day"), CONTACT_SUMS))
    return Report(
        "abandoned",
        "Abandoned calls",
        [
            Column("day", "Day", "time"),
            Column("queue", "Queue", "text"),
            Column("offered", "Offered"),
            Column("abandoned", "Abandoned"),
            Column("short_abandoned", "Short abandons"),
            Column("abandoned_pct", "Abandoned %", "pct"),
            Column("avg_abandon_wait", "Waited before abandoning (s)", "seconds"),
            Column("max_wait", "Max wait (s)", "seconds"),
        ],
        rows,
        totals,
        {"x": "waited", "bars": buckets},
    )


RESULTS = ("answered", "abandoned", "machine", "busy", "no_answer", "invalid", "failed")


def campaigns(f: Filters) -> Report:
    """Outbound campaign results from the attempt log: attempts by result, connect and
    abandon rates (abandoned ÷ people answered), talk time — per campaign."""
    rows_q = Attempt.objects.filter(requested_at__gte=f.start, requested_at__lt=f.end)
    if f.queues is not None:
        rows_q = rows_q.filter(campaign__queue__name__in=f.queues)
    measures: dict[str, Any] = {r: Count("id", filter=Q(result=r)) for r in RESULTS}
    per = (
        rows_q.values("campaign__name")
        .annotate(
            attempts=Count("id"),
            contacts=Count("contact", distinct=True),
            talk=Sum("talk_seconds", filter=Q(result="answered")),
            **measures,
        )
        .order_by("campaign__name")
    )

    def figures(r: dict[str, Any]) -> dict[str, Any]:
        people = r["answered"] + r["abandoned"]
        return {
            **{k: r[k] for k in ("attempts", "contacts", *RESULTS)},
            "connect_pct": _ratio(r["answered"], r["attempts"], 100),
            "abandoned_pct": _ratio(r["abandoned"], people, 100),
            "avg_talk": _ratio(r["talk"] or 0, r["answered"]),
        }

    rows = [{"campaign": r["campaign__name"], **figures(r)} for r in per]
    total = rows_q.aggregate(
        attempts=Count("id"),
        contacts=Count("contact", distinct=True),
        talk=Sum("talk_seconds", filter=Q(result="answered")),
        **measures,
    )
    labels = {"no_answer": "No answer", "machine": "Machine", "invalid": "Invalid"}
    return Report(
        "campaigns",
        "Outbound campaign results",
        [
            Column("campaign", "Campaign", "text"),
            Column("attempts", "Attempts"),
            Column("contacts", "Contacts"),
            *[Column(r, labels.get(r, r.capitalize())) for r in RESULTS],
            Column("connect_pct", "Connected %", "pct"),
            Column("abandoned_pct", "Abandoned %", "pct"),
            Column("avg_talk", "Talk (s)", "seconds"),
        ],
        rows,
        figures(total),
        {
            "x": "campaign",
            "series": [
                ("answered", "Answered"),
                ("abandoned", "Abandoned"),
                ("machine", "Machine"),
            ],
        },
    )


def cost(f: Filters, by: str = "queue") -> Report:
    """Cost of outbound and transferred-out legs per queue, agent, campaign or destination."""
    try:
        from stats.costing import cost_report
    except ImportError:  # pragma: no cover - rating of legs not installed
        return Report("cost", "Cost", [], [], {}, {})
    if by not in ("queue", "agent", "campaign", "destination"):
        raise BadFilter("by: queue, agent, campaign or destination")
    rows = cost_report(
        f.since,
        f.until,
        by,
        set(f.queues) if f.queues is not None else None,
        set(f.agents) if f.agents is not None else None,
    )
    rows = [{**r, "cost": str(r["cost"])} for r in rows]
    return Report(
        "cost",
        f"Cost per {by}",
        [
            Column("key", by.capitalize(), "text"),
            Column("legs", "Legs"),
            Column("unrated", "Unrated"),
            Column("seconds", "Seconds", "seconds"),
            Column("billed_seconds", "Billed seconds", "seconds"),
            Column("cost", "Cost", "money"),
            Column("currency", "Currency", "text"),
        ],
        rows,
        {"legs": sum(r["legs"] for r in rows)},
        {"x": "key", "series": [("cost", "Cost")]},
    )


REPORTS: dict[str, Callable[..., Report]] = {
    "intraday": intraday,
    "hourly": hourly,
    "queues": queues,
    "agents": agents,
    "not_ready": not_ready,
    "abandoned": abandoned,
    "campaigns": campaigns,
    "cost": cost,
}
