"""Quality assurance (REC-12): scoring a recording against an evaluation form of weighted
questions, the per-agent QA report and the QA statistics (per question, score bands,
evaluators) behind the printable page.

Score = Σ weight × points / max points ÷ Σ weight × 100 (every question answered, points
between 0 and the question's maximum). The recording keeps its latest score (searchable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Max, Min

from recording.access import RecordingRefused, in_scope, log, visible
from recording.models import Evaluation, EvaluationForm, Recording, RecordingAccess
from supervision.roles import is_supervisor


class BadEvaluation(ValueError):
    """Answers that do not fit the form; the message says which."""


def score(form: EvaluationForm, answers: dict[str, Any]) -> float:
    """The weighted score (0–100) of `answers` ({question id: points}) on `form`."""
    questions = list(form.questions.all())
    if not questions:
        raise BadEvaluation(f"the form {form.name!r} has no questions")
    total = got = 0.0
    for q in questions:
        raw = answers.get(str(q.pk), answers.get(q.pk))
        if raw is None:
            raise BadEvaluation(f"question {q.pk} ({q.text!r}) is not answered")
        try:
            points = float(raw)
        except (TypeError, ValueError) as exc:
            raise BadEvaluation(f"question {q.pk}: {raw!r} is not a number") from exc
        if not 0 <= points <= q.max_points:
            raise BadEvaluation(f"question {q.pk}: points are 0 to {q.max_points}")
        total += q.weight
        got += q.weight * points / q.max_points
    return round(100.0 * got / total, 1) if total else 0.0


def evaluate(
    user: Any,
    recording_id: int,
    form_id: Any,
    answers: Any,
    comment: str = "",
    address: str | None = None,
) -> Evaluation:
    """Score a recording (team leaders within their scope, administrators); logged."""
    if not is_supervisor(user):
        raise RecordingRefused("only team leaders and administrators score recordings")
    recording = visible(user).filter(pk=recording_id).first()
    if recording is None:
        raise LookupError(f"no recording {recording_id} of yours")
    form = (
        EvaluationForm.objects.filter(pk=form_id, active=True).first()
        if str(form_id).isdigit()
        else None
    )
    if form is None:
        raise BadEvaluation(f"no active evaluation form {form_id!r}")
    if not isinstance(answers, dict):
        raise BadEvaluation('answers are {"<question id>": points, …}')
    value = score(form, answers)
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            recording=recording,
            form=form,
            evaluator=user,
            answers=answers,
            score=value,
            comment=str(comment)[:2000],
        )
        Recording.objects.filter(pk=recording.pk).update(qa_score=value)
        log(recording, user, RecordingAccess.Kind.EVALUATE, address, f"{form.name}: {value}")
    return evaluation


def agent_report(
    user: Any, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Per agent: evaluations, average / best / worst score, recordings scored."""
    rows = Evaluation.objects.filter(recording__in=in_scope(user))
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lt=until)
    report = (
        rows.values("recording__agent__login_id", "recording__agent__name")
        .annotate(
            evaluations=Count("id"),
            average=Avg("score"),
            best=Max("score"),
            worst=Min("score"),
            recordings=Count("recording", distinct=True),
        )
        .order_by("recording__agent__login_id")
    )
    return [
        {
            "agent": r["recording__agent__login_id"] or "",
            "name": r["recording__agent__name"] or "",
            "evaluations": r["evaluations"],
            "recordings": r["recordings"],
            "average": round(r["average"], 1),
            "best": r["best"],
            "worst": r["worst"],
        }
        for r in report
    ]


BANDS = ((0, 50, "under 50"), (50, 70, "50–69"), (70, 85, "70–84"), (85, 101, "85–100"))


def statistics(
    user: Any, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """The QA statistics of what `user` may see: totals, per agent, per form and question
    (the average share of the question's points), score bands and evaluators."""
    rows = Evaluation.objects.filter(recording__in=in_scope(user))
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lt=until)
    totals = rows.aggregate(
        evaluations=Count("id"), recordings=Count("recording", distinct=True), average=Avg("score")
    )
    scores = list(rows.values_list("score", flat=True))
    bands = []
    for lo, hi, label in BANDS:
        n = sum(1 for v in scores if lo <= v < hi)
        bands.append(
            {
                "band": label,
                "evaluations": n,
                "pct": round(100 * n / len(scores), 1) if scores else 0.0,
            }
        )
    evaluators = list(
        rows.values("evaluator__username")
        .annotate(evaluations=Count("id"), average=Avg("score"))
        .order_by("-evaluations")
    )
    return {
        "totals": {
            **totals,
            "average": round(totals["average"], 1) if totals["average"] is not None else None,
        },
        "agents": agent_report(user, since, until),
        "forms": _per_question(rows),
        "bands": bands,
        "evaluators": [
            {
                "evaluator": e["evaluator__username"] or "",
                "evaluations": e["evaluations"],
                "average": round(e["average"], 1),
            }
            for e in evaluators
        ],
    }


def _per_question(rows: Any) -> list[dict[str, Any]]:
    answers: dict[int, list[dict[str, Any]]] = {}
    for form_id, given in rows.values_list("form_id", "answers"):
        answers.setdefault(form_id, []).append(given or {})
    result = []
    for form in EvaluationForm.objects.filter(pk__in=answers).prefetch_related("questions"):
        questions = []
        for q in form.questions.all():
            points = [float(a[str(q.pk)]) for a in answers[form.pk] if str(q.pk) in a]
            mean = sum(points) / len(points) if points else None
            questions.append(
                {
                    "question": q.text,
                    "weight": q.weight,
                    "max_points": q.max_points,
                    "answers": len(points),
                    "average_points": round(mean, 2) if mean is not None else None,
                    "average_pct": round(100 * mean / q.max_points, 1)
                    if mean is not None
                    else None,
                }
            )
        result.append(
            {"form": form.name, "evaluations": len(answers[form.pk]), "questions": questions}
        )
    return result
