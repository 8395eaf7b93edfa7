"""The staffing plan (issue 8 item 5): a day's calls per 15 minutes forecast from the same
weekday of the last weeks' interval rows (stats.forecast), and for each interval the agents
needed for the queue's service-level target (Erlang C, stats.erlang; Erlang A with a mean
patience, stats.erlang_a). Shown as the report `forecast`.

History: for each of those weekdays that has any interval row for the chosen queues, every
15-minute interval without a row counts as 0 calls (quiet, not unknown); a weekday with no
row at all is reported missing and left out.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Sum

from icm.models import Queue
from stats import erlang, erlang_a
from stats.forecast import Observed, forecast_day
from stats.models import ContactInterval
from stats.reports import BadFilter, Column, Filters, Report, _local

INTERVAL = 900.0


def history(f: Filters, day: date, weeks: int) -> dict[tuple[date, int], Observed]:
    """(date, minute) → offered calls and AHT of the chosen queues, the same weekday of
    the `weeks` weeks before `day`."""
    dates = [day - timedelta(weeks=w) for w in range(1, weeks + 1)]
    rows = ContactInterval.objects.filter(
        period="15m",
        dimension="queue",
        start__gte=datetime.combine(dates[-1], time(), tzinfo=f.zone),
        start__lt=datetime.combine(dates[0] + timedelta(days=1), time(), tzinfo=f.zone),
    )
    if f.queues is not None:
        rows = rows.filter(key__in=f.queues)
    seen: dict[tuple[date, int], Observed] = {}
    for r in rows.values("start").annotate(
        offered=Sum("offered"),
        answered=Sum("answered"),
        talk=Sum("talk"),
        hold=Sum("hold"),
        wrap=Sum("wrap"),
    ):
        local = r["start"].astimezone(f.zone)
        if local.date() not in dates:
            continue
        aht = ((r["talk"] + r["hold"] + r["wrap"]) / r["answered"]) if r["answered"] else None
        seen[(local.date(), local.hour * 60 + local.minute)] = Observed(float(r["offered"]), aht)
    filled = dict(seen)
    for d in {d for d, _ in seen}:
        for minute in range(0, 24 * 60, 15):
            filled.setdefault((d, minute), Observed(0.0))
    return filled


def plan(f: Filters, params: Any) -> Report:
    day = f.since
    try:
        weeks = int(params.get("weeks") or 4)
        patience = float(params["patience"]) if params.get("patience") else None
        shrinkage = float(params.get("shrinkage") or 0) / 100
    except (TypeError, ValueError) as exc:
        raise BadFilter("weeks is a whole number, patience seconds, shrinkage a percent") from exc
    if not 1 <= weeks <= 12 or not 0 <= shrinkage < 1 or (patience is not None and patience <= 0):
        raise BadFilter("weeks 1–12, shrinkage 0–99 %, patience > 0 s")
    queues = Queue.objects.all() if f.queues is None else Queue.objects.filter(name__in=f.queues)
    targets = list(queues.values_list("service_level_target", "service_level_seconds"))
    target, threshold = max(targets) if targets else (80, 20)
    forecast = forecast_day(history(f, day, weeks), day, weeks)
    rows = []
    for slot in forecast.intervals:
        aht = slot.aht or 0.0
        row: dict[str, Any] = {
            "interval": _local(
                datetime.combine(day, time(), tzinfo=f.zone) + timedelta(minutes=slot.minute),
                "%H:%M",
            ),
            "calls": round(slot.calls, 1),
            "aht": round(aht, 1) if slot.aht else None,
            "weeks": slot.weeks_used,
        }
        if slot.calls > 0 and aht > 0:
            if patience:
                need: Any = erlang_a.agents_needed(
                    slot.calls,
                    aht,
                    INTERVAL,
                    target / 100,
                    threshold,
                    patience,
                    shrinkage=shrinkage,
                )
                row["abandon_pct"] = round(100 * need.abandon_probability, 1)
            else:
                need = erlang.agents_needed(
                    slot.calls, aht, INTERVAL, target / 100, threshold, shrinkage=shrinkage
                )
            row.update(
                agents=need.agents,
                scheduled=need.scheduled,
                sl_pct=round(100 * need.service_level, 1),
                occupancy_pct=round(100 * need.occupancy, 1),
            )
        else:
            row.update(agents=0, scheduled=0, sl_pct=None, occupancy_pct=None)
        rows.append(row)
    busy = [r for r in rows if r["calls"]]
    columns = [
        Column("interval", "Interval", "time"),
        Column("calls", "Forecast calls", "seconds"),
        Column("aht", "AHT (s)", "seconds"),
        Column("agents", "Agents"),
        Column("scheduled", "To schedule"),
        Column("sl_pct", "Service level %", "pct"),
        Column("occupancy_pct", "Occupancy %", "pct"),
        Column("weeks", "Weeks used"),
    ]
    if patience:
        columns.insert(6, Column("abandon_pct", "Abandon %", "pct"))
    missing = ", ".join(d.isoformat() for d in forecast.weeks_missing)
    title = (
        f"Staffing plan for {day:%A %Y-%m-%d} ({target} % in {threshold} s"
        + (f", patience {patience:g} s)" if patience else ")")
        + (f" — no data on {missing}" if missing else "")
    )
    return Report(
        "forecast",
        title,
        columns,
        busy,
        {
            "calls": round(sum(r["calls"] for r in busy), 1),
            "agents": max((r["agents"] for r in busy), default=0),
        },
        {"x": "interval", "series": [("calls", "Forecast calls"), ("agents", "Agents")]},
    )
