"""The recording catalogue over HTTP: the page `/recordings/` (search, player with waveform
and seek, scoring), `GET /api/recordings/` (search + count), `GET /api/recordings/<id>/`,
`GET /recordings/<id>/audio` (the browser's player; byte ranges for seeking; `?download=1`
for permitted roles: the original file), `GET /api/recordings/<id>/waveform`,
`POST /api/recordings/<id>/evaluations/`, `POST /api/recordings/<id>/hold/`,
`GET /api/recordings/qa-report/` and the printable QA statistics `/recordings/qa/`.
Every listen, download, refusal and score is in the recording's operation log."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from ipbx_project.api_schema import OBJECT, errors, query, since_until
from recording import access, qa
from recording import api_schema as shapes
from recording.catalogue import convert
from recording.models import EvaluationForm, RecordingAccess
from recording.search import PAGE, BadSearch, as_row, search
from recording.waveform import peaks
from supervision.roles import ADMINISTRATOR, is_supervisor, role_of

_RANGE = re.compile(r"bytes=(\d*)-(\d*)\Z")


@login_required
@ensure_csrf_cookie
def catalogue_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "recording/catalogue.html",
        {
            "may_download": access.may_download(request.user),
            "may_hold": role_of(request.user) == ADMINISTRATOR,
            "forms": EvaluationForm.objects.filter(active=True).prefetch_related("questions"),
        },
    )


@extend_schema(
    operation_id="recordings_list",
    parameters=[
        *since_until("start time"),
        *(
            query(f, f"Only recordings matching this {f}")
            for f in ("agent", "number", "customer", "queue", "disposition")
        ),
        query("min_score", "Lowest QA score", float),
        query("max_score", "Highest QA score", float),
        query("page", "Page number (from 1)", int),
    ],
    responses={200: shapes.RecordingPageSerializer, **errors(400)},
)
@api_view(["GET"])
def recordings_api(request: Request) -> Response:
    try:
        rows = search(request.user, request.query_params)
    except BadSearch as exc:
        return Response({"detail": str(exc)}, status=400)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return Response({"detail": "page: not a number"}, status=400)
    start = (page - 1) * PAGE
    return Response(
        {
            "count": rows.count(),
            "page": page,
            "page_size": PAGE,
            "results": [as_row(r) for r in rows[start : start + PAGE]],
        }
    )


@extend_schema(responses={200: shapes.RecordingDetailSerializer, **errors(404)})
@api_view(["GET"])
def recording_api(request: Request, recording_id: int) -> Response:
    row = access.visible(request.user).filter(pk=recording_id).first()
    if row is None:
        return Response({"detail": f"no recording {recording_id} of yours"}, status=404)
    evaluations = [
        {
            "form": e.form.name,
            "score": e.score,
            "by": e.evaluator.username if e.evaluator_id else "",
            "at": e.created_at.isoformat(),
            "comment": e.comment,
        }
        for e in row.evaluations.select_related("form", "evaluator")
    ]
    log = [
        {"at": a.at.isoformat(), "who": a.username, "kind": a.kind, "detail": a.detail}
        for a in row.accesses.all()[:100]
    ]
    return Response({**as_row(row), "evaluations": evaluations, "log": log})


def _playable(path: Path, fmt: str) -> Path:
    """Browsers play linear PCM WAV: other formats are decoded once next to the file."""
    if fmt == "pcm":
        return path
    play = path.with_name(f"{path.stem}.play.wav")
    if not play.exists() or play.stat().st_mtime < path.stat().st_mtime:
        convert(path, play, "pcm")
    return play


def audio(request: HttpRequest, recording_id: int) -> HttpResponse:
    """The recording's audio for the player (range requests) or, `?download=1`, the file."""
    if not request.user.is_authenticated:
        return HttpResponse("sign in first", status=401)
    download = request.GET.get("download") == "1"
    ranged = _RANGE.match(request.headers.get("Range", ""))
    # every request is checked; a player's range requests are one listen (access.log_listen)
    kind = RecordingAccess.Kind.DOWNLOAD if download else RecordingAccess.Kind.LISTEN
    try:
        recording = access.fetch(request.user, recording_id, kind, request.META.get("REMOTE_ADDR"))
    except access.RecordingRefused as exc:
        return HttpResponse(str(exc), status=403)
    except LookupError as exc:
        raise Http404(str(exc)) from exc
    path = Path(recording.file or recording.path)
    if not path.exists():
        raise Http404("the recording's file is missing")
    if download:
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=path.name, content_type="audio/wav"
        )
    path = _playable(path, recording.format)
    return _ranged(path, ranged)


def _ranged(path: Path, ranged: re.Match[str] | None) -> HttpResponse:
    size = path.stat().st_size
    if ranged is None:
        response = FileResponse(path.open("rb"), content_type="audio/wav")
        response["Accept-Ranges"] = "bytes"
        return response
    start_text, end_text = ranged.groups()
    if start_text == "":  # the last N bytes
        start, end = max(0, size - int(end_text or 0)), size - 1
    else:
        start, end = int(start_text), min(int(end_text) if end_text else size - 1, size - 1)
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response

    def chunks():
        with path.open("rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                block = f.read(min(1 << 16, left))
                if not block:
                    break
                left -= len(block)
                yield block

    response = StreamingHttpResponse(chunks(), status=206, content_type="audio/wav")
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


@extend_schema(
    parameters=[query("points", "How many peaks (50 to 4000)", int)],
    responses={200: OBJECT, **errors(400, 404)},
)
@api_view(["GET"])
def waveform_api(request: Request, recording_id: int) -> Response:
    row = access.visible(request.user).filter(pk=recording_id, status="ready").first()
    if row is None:
        return Response({"detail": f"no recording {recording_id} of yours"}, status=404)
    try:
        points = int(request.query_params.get("points", "600"))
    except ValueError:
        return Response({"detail": "points: not a number"}, status=400)
    return Response(peaks(Path(row.file or row.path), max(50, min(points, 4000))))


@extend_schema(
    request=shapes.EvaluateSerializer,
    responses={201: shapes.EvaluationSerializer, **errors(400, 404)},
)
@api_view(["POST"])
def evaluate_api(request: Request, recording_id: int) -> Response:
    body = request.data if isinstance(request.data, dict) else None
    if body is None:
        return Response(
            {"detail": 'send {"form": <id>, "answers": {"<question id>": points}}'}, status=400
        )
    try:
        evaluation = qa.evaluate(
            request.user,
            recording_id,
            body.get("form"),
            body.get("answers"),
            str(body.get("comment", "")),
            request.META.get("REMOTE_ADDR"),
        )
    except access.RecordingRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except LookupError as exc:
        return Response({"detail": str(exc)}, status=404)
    except qa.BadEvaluation as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response({"id": evaluation.pk, "score": evaluation.score}, status=201)


@login_required
def storage_page(request: HttpRequest) -> HttpResponse:
    from recording.storage import figures

    if not is_supervisor(request.user):
        return HttpResponse("for team leaders and administrators", status=403)
    f = figures()
    return render(
        request,
        "recording/storage.html",
        {
            "f": f,
            "used_gb": round(f["used_bytes"] / 1e9, 3),
            "free_gb": round(f["free_bytes"] / 1e9, 1),
            "per_day_mb": round(f["bytes_per_day"] / 1e6, 1),
        },
    )


@extend_schema(responses={200: OBJECT, **errors()})
@api_view(["GET"])
def storage_api(request: Request) -> Response:
    from recording.storage import figures

    if not is_supervisor(request.user):
        return Response({"detail": "for team leaders and administrators"}, status=403)
    return Response(figures())


@extend_schema(
    request=shapes.TrimSerializer,
    responses={201: shapes.RecordingRowSerializer, **errors(400, 404)},
)
@api_view(["POST"])
def trim_api(request: Request, recording_id: int) -> Response:
    """POST {start, end} (seconds): a new recording of that range; the original is kept."""
    from recording.edit import BadTrim, trim

    body = request.data if isinstance(request.data, dict) else None
    if body is None:
        return Response({"detail": 'send {"start": seconds, "end": seconds}'}, status=400)
    try:
        copy = trim(
            request.user,
            recording_id,
            body.get("start"),
            body.get("end"),
            request.META.get("REMOTE_ADDR"),
        )
    except access.RecordingRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except LookupError as exc:
        return Response({"detail": str(exc)}, status=404)
    except BadTrim as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(as_row(copy), status=201)


@extend_schema(
    request=shapes.HoldSerializer,
    responses={200: shapes.RecordingRowSerializer, **errors(400, 404)},
)
@api_view(["POST"])
def hold_api(request: Request, recording_id: int) -> Response:
    """POST {hold: true|false, reason}: legal hold on / off (administrators; logged)."""
    from recording.hold import BadHold, set_hold

    body = request.data if isinstance(request.data, dict) else None
    if body is None:
        return Response({"detail": 'send {"hold": true, "reason": "case 123"}'}, status=400)
    try:
        row = set_hold(
            request.user,
            recording_id,
            body.get("hold"),
            body.get("reason"),
            request.META.get("REMOTE_ADDR"),
        )
    except access.RecordingRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except LookupError as exc:
        return Response({"detail": str(exc)}, status=404)
    except BadHold as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(as_row(row))


@extend_schema(parameters=since_until(), responses={200: OBJECT, **errors(400)})
@api_view(["GET"])
def qa_report_api(request: Request) -> Response:
    from datetime import datetime

    try:
        since = request.query_params.get("since")
        until = request.query_params.get("until")
        report = qa.statistics(
            request.user,
            datetime.fromisoformat(since) if since else None,
            datetime.fromisoformat(until) if until else None,
        )
    except ValueError as exc:
        return Response({"detail": f"since / until: {exc}"}, status=400)
    return Response(report)


@login_required
def qa_page(request: HttpRequest) -> HttpResponse:
    """The printable QA statistics (?since=&until= dates)."""
    from datetime import date, datetime, time, timedelta

    from django.utils import timezone

    if not is_supervisor(request.user):
        return HttpResponse("for team leaders and administrators", status=403)
    error, bounds = "", {}
    for name in ("since", "until"):
        text = request.GET.get(name, "")
        try:
            day = date.fromisoformat(text) if text else None
        except ValueError:
            error = f"{name}: a date like 2026-12-01"
            day = None
        if day is not None:
            when = datetime.combine(day + timedelta(days=1 if name == "until" else 0), time())
            bounds[name] = timezone.make_aware(when)
    stats = qa.statistics(request.user, bounds.get("since"), bounds.get("until"))
    return render(
        request,
        "recording/qa.html",
        {
            "s": stats,
            "error": error,
            "since": request.GET.get("since", ""),
            "until": request.GET.get("until", ""),
            "printed": timezone.now(),
        },
    )
