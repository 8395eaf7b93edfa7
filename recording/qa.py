"""Quality assurance (REC-12): scoring a recording against an evaluation form of weighted
questions, and the per-agent QA report.

Score = Σ weight × points / max points ÷ Σ weight × 100 (every question answered, points
between 0 and the question's maximum). The recording keeps its latest score (searchable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Max, Min

from recording.access import RecordingRefused, log, visible
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


def evaluate(user: Any, recording_id: int, form_id: Any, answers: Any, comment: str = "",
             address: str | None = None) -> Evaluation:  # fmt: skip
    """Score a recording (team leaders within their scope, administrators); logged."""
    if not is_supervisor(user):
        raise RecordingRefused("only team leaders and administrators score recordings")
    recording = visible(user).filter(pk=recording_id).first()
    if recording is None:
        raise LookupError(f"no recording {recording_id} of yours")
    form = EvaluationForm.objects.filter(pk=form_id, active=True).first() if str(
        form_id).isdigit() else None  # fmt: skip
    if form is None:
        raise BadEvaluation(f"no active evaluation form {form_id!r}")
    if not isinstance(answers, dict):
        raise BadEvaluation('answers are {"<question id>": points, …}')
    value = score(form, answers)
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            recording=recording, form=form, evaluator=user, answers=answers, score=value,
            comment=str(comment)[:2000])  # fmt: skip
        Recording.objects.filter(pk=recording.pk).update(qa_score=value)
        log(recording, user, RecordingAccess.Kind.EVALUATE, address, f"{form.name}: {value}")
    return evaluation


def agent_report(user: Any, since: datetime | None = None,
                 until: datetime | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Per agent: evaluations, average / best / worst score, recordings scored."""
    rows = Evaluation.objects.filter(recording__in=visible(user))
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lt=until)
    report = (rows.values("recording__agent__login_id", "recording__agent__name")
              .annotate(evaluations=Count("id"), average=Avg("score"), best=Max("score"),
                        worst=Min("score"), recordings=Count("recording", distinct=True))
              .order_by("recording__agent__login_id"))  # fmt: skip
    return [{"agent": r["recording__agent__login_id"] or "", "name": r["recording__agent__name"]
             or "", "evaluations": r["evaluations"], "recordings": r["recordings"],
             "average": round(r["average"], 1), "best": r["best"], "worst": r["worst"]}
            for r in report]  # fmt: skip
