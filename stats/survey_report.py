"""The survey report (BIZ-5, AG-7): one row per answered survey — a customer who went back
into a flow after the agent hung up (stored with the call, `Call.attached_data["survey"]`),
or an agentless campaign call's flow (the attempt log's answers) — with each question's
answer as a column; the totals give the number of responses and each numeric question's
average. The page, the API and the CSV / XLSX exports render this one `Report`.
"""

from __future__ import annotations

from typing import Any

from icm.models import Call
from ivr.engine.nodes import flow_answers
from outbound.models import Attempt
from stats.reports import Column, Filters, Report, _local

FIXED = ("at", "source", "flow", "queue", "agent", "caller")


def surveys(f: Filters) -> Report:
    rows = [*_after_calls(f), *_campaign_calls(f)]
    rows.sort(key=lambda row: row["at"])
    questions = sorted({key for row in rows for key in row} - set(FIXED))
    totals: dict[str, Any] = {"at": f"{len(rows)} responses"}
    for question in questions:
        numbers = [_number(row.get(question)) for row in rows]
        numbers = [n for n in numbers if n is not None]
        if numbers and len(numbers) == sum(1 for row in rows if question in row):
            totals[question] = round(sum(numbers) / len(numbers), 2)  # the average score
    return Report(
        "surveys",
        "Survey answers",
        [
            Column("at", "Time", "time"),
            Column("source", "Source", "text"),
            Column("flow", "Flow", "text"),
            Column("queue", "Queue", "text"),
            Column("agent", "Agent", "text"),
            Column("caller", "Caller", "text"),
            *[Column(q, q.replace("_", " ").capitalize(), "text") for q in questions],
        ],
        rows,
        totals,
        {},
    )


def _after_calls(f: Filters) -> list[dict[str, Any]]:
    calls = Call.objects.filter(
        created_at__gte=f.start, created_at__lt=f.end, attached_data__has_key="survey"
    ).select_related("queue", "agent")
    if f.queues is not None:
        calls = calls.filter(queue__name__in=f.queues)
    if f.agents is not None:
        calls = calls.filter(agent__login_id__in=f.agents)
    rows = []
    for call in calls:
        survey = call.attached_data.get("survey") or {}
        rows.append(
            {
                **_answers(survey.get("answers")),
                "at": _local(call.created_at, "%Y-%m-%d %H:%M"),
                "source": "after the call",
                "flow": str(survey.get("flow", "")),
                "queue": call.queue.name if call.queue else "",
                "agent": call.agent.login_id if call.agent else "",
                "caller": call.ani,
            }
        )
    return rows


def _campaign_calls(f: Filters) -> list[dict[str, Any]]:
    attempts = (
        Attempt.objects.filter(requested_at__gte=f.start, requested_at__lt=f.end)
        .exclude(answers={})
        .select_related("campaign__queue", "campaign__flow")
    )
    if f.queues is not None:
        attempts = attempts.filter(campaign__queue__name__in=f.queues)
    if f.agents is not None:  # agentless calls belong to no agent of anyone's scope
        attempts = attempts.none()
    return [
        {
            **_answers(a.answers),
            "at": _local(a.requested_at, "%Y-%m-%d %H:%M"),
            "source": f"campaign {a.campaign.name}",
            "flow": a.campaign.flow.name if a.campaign.flow else "",
            "queue": a.campaign.queue.name if a.campaign.queue else "",
            "agent": "",
            "caller": a.number,
        }
        for a in attempts
    ]


def _answers(answers: Any) -> dict[str, Any]:
    """A flow's answers as report cells: what the flow asked (not what it knew of the call
    from the start), plain values only, never under a fixed column's name."""
    if not isinstance(answers, dict):
        return {}
    return {f"q_{k}" if k in FIXED else k: v for k, v in flow_answers(answers).items()}


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
