"""The call-backs report (issue 20 item 3): each call-back due in the date range with who
it was for, its outcome (reached, unreachable after N dials, failed, cancelled, pending) and
its dials — on the reports page, the API and the CSV / XLSX export (stats.report_views)."""

from __future__ import annotations

from django.db.models import Q

from agents.callbacks import outcome_text
from agents.models import ScheduledCallback
from stats.reports import Column, Filters, Report


def callbacks(f: Filters) -> Report:
    """Call-backs due between since and until, soonest first, in the user's scope (its
    queues' call-backs, and its agents' call-backs for no queue)."""
    rows_q = ScheduledCallback.objects.filter(due_at__gte=f.start, due_at__lt=f.end)
    if f.queues is not None:
        rows_q = rows_q.filter(
            Q(queue__name__in=f.queues) | Q(queue__isnull=True, agent__login_id__in=f.agents or ())
        )
    if f.agents is not None and f.given.get("agent"):
        rows_q = rows_q.filter(agent__login_id__in=f.agents)
    rows_q = rows_q.select_related("agent", "queue", "customer").prefetch_related("dial_attempts")
    rows = []
    for cb in rows_q.order_by("due_at", "id"):
        dials = list(cb.dial_attempts.all())
        last = dials[-1] if dials else None
        rows.append(
            {
                "id": cb.pk,
                "due_at": cb.due_at.astimezone(f.zone).strftime("%Y-%m-%d %H:%M"),
                "number": cb.number,
                "customer": cb.customer.name if cb.customer_id else "",
                "agent": cb.agent.login_id if cb.agent_id else "",
                "queue": cb.queue.name if cb.queue_id else "",
                "status": cb.status,
                "dials": len(dials),
                "last_dial": last.started_at.astimezone(f.zone).strftime("%Y-%m-%d %H:%M")
                if last
                else "",
                "last_dial_outcome": (last.outcome or "dialling") if last else "",
                "outcome": outcome_text(cb),
            }
        )
    statuses = ScheduledCallback.Status
    totals = {
        "dials": sum(r["dials"] for r in rows),
        "status": ", ".join(
            f"{sum(r['status'] == s for r in rows)} {s}"
            for s in (statuses.DONE, statuses.UNREACHABLE, statuses.FAILED)
        ),
    }
    return Report(
        "callbacks",
        "Call-backs and their outcome",
        [
            Column("id", "Call-back"),
            Column("due_at", "Due", "text"),
            Column("number", "Number", "text"),
            Column("customer", "Customer", "text"),
            Column("agent", "Agent", "text"),
            Column("queue", "Queue", "text"),
            Column("status", "Status", "text"),
            Column("dials", "Dials"),
            Column("last_dial", "Last dial", "text"),
            Column("last_dial_outcome", "Last dial's outcome", "text"),
            Column("outcome", "Outcome", "text"),
        ],
        rows,
        totals,
    )
