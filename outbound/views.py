"""Campaigns over HTTP (issue 9 item 7): the pages `/campaigns/` and `/campaigns/<name>/`
(live progress, start / pause / resume / stop, contact list upload, results export) and the
API: `GET /api/campaigns/`, `GET /api/campaigns/<name>/`, `POST
/api/campaigns/<name>/<start|pause|resume|stop>/`, `POST /api/campaigns/<name>/contacts/`
(a CSV / XLSX file: the row-by-row report), `GET /campaigns/<name>/attempts.csv`."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from ipbx_project.api_schema import OBJECT, errors
from ipbx_project.spreadsheet import csv_text
from outbound import api_schema as shapes
from outbound import control
from outbound.importing import BadList, import_contacts
from outbound.models import Attempt
from supervision.actions import SupervisionRefused
from supervision.roles import is_supervisor

MAX_UPLOAD = 20 * 1024 * 1024
ATTEMPT_COLUMNS = (
    "requested_at",
    "number",
    "attempt",
    "result",
    "hangup_cause",
    "ring_seconds",
    "talk_seconds",
    "agent",
    "disposition",
    "call_uuid",
)


@login_required
def campaigns_page(request: HttpRequest) -> HttpResponse:
    if not is_supervisor(request.user):
        return HttpResponse("for team leaders and administrators", status=403)
    rows = [control.progress(c) for c in control.visible(request.user)]
    return render(request, "outbound/campaigns.html", {"campaigns": rows})


@login_required
@ensure_csrf_cookie
def campaign_page(request: HttpRequest, name: str) -> HttpResponse:
    if not is_supervisor(request.user):
        return HttpResponse("for team leaders and administrators", status=403)
    campaign = control.visible(request.user).filter(name=name).first()
    if campaign is None:
        raise Http404(f"no campaign {name!r} of yours")
    return render(
        request, "outbound/campaign.html", {"c": campaign, "p": control.progress(campaign)}
    )


@login_required
def attempts_csv(request: HttpRequest, name: str) -> HttpResponse:
    if not is_supervisor(request.user):
        return HttpResponse("for team leaders and administrators", status=403)
    campaign = control.visible(request.user).filter(name=name).first()
    if campaign is None:
        raise Http404(f"no campaign {name!r} of yours")
    attempts = Attempt.objects.filter(campaign=campaign).values_list(*ATTEMPT_COLUMNS)
    text = csv_text([ATTEMPT_COLUMNS, *attempts])  # cells escaped: no formula runs (issue 18)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-attempts.csv"'
    return response


@extend_schema(
    operation_id="campaigns_list", responses={200: shapes.CampaignListSerializer, **errors()}
)
@api_view(["GET"])
def campaigns_api(request: Request) -> Response:
    if not is_supervisor(request.user):
        return Response({"detail": "for team leaders and administrators"}, status=403)
    return Response({"campaigns": [control.progress(c) for c in control.visible(request.user)]})


@extend_schema(responses={200: shapes.CampaignSerializer, **errors(404)})
@api_view(["GET"])
def campaign_api(request: Request, name: str) -> Response:
    campaign = control.visible(request.user).filter(name=name).first()
    if campaign is None:
        return Response({"detail": f"no campaign {name!r} of yours"}, status=404)
    return Response(control.progress(campaign))


@extend_schema(
    request=None,
    parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(control.MOVES))],
    responses={200: OBJECT, **errors(400, 404, 409)},
)
@api_view(["POST"])
def campaign_action(request: Request, name: str, action: str) -> Response:
    try:
        return Response(control.change(request.user, name, action, request.META.get("REMOTE_ADDR")))
    except LookupError as exc:
        return Response({"detail": str(exc)}, status=404)
    except SupervisionRefused as exc:
        return Response({"detail": str(exc)}, status=409)
    except ValueError as exc:
        return Response({"detail": str(exc)}, status=400)


@extend_schema(
    request={"multipart/form-data": shapes.ContactListUploadSerializer},
    responses={201: OBJECT, **errors(400, 404)},
)
@api_view(["POST"])
def upload_contacts(request: Request, name: str) -> Response:
    campaign = control.visible(request.user).filter(name=name).first()
    if campaign is None or not is_supervisor(request.user):
        return Response({"detail": f"no campaign {name!r} of yours"}, status=404)
    upload = request.FILES.get("file")
    if upload is None:
        return Response({"detail": "send the list as the multipart field 'file'"}, status=400)
    if upload.size > MAX_UPLOAD:
        return Response({"detail": "at most 20 MB a file"}, status=400)
    try:
        report = import_contacts(campaign, upload.read(), upload.name or "contacts.csv")
    except BadList as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(report.as_json(), status=201)


@extend_schema(
    request=shapes.FollowUpSerializer,
    responses={201: shapes.CampaignSerializer, **errors(400, 404)},
)
@api_view(["POST"])
def followup_api(request: Request) -> Response:
    """POST {source: abandoned|disposition, queue, since, until, disposition?, mode?,
    gateway?}: a draft campaign of those callers."""
    from datetime import date

    from outbound.followup import create_followup

    body = request.data if isinstance(request.data, dict) else {}
    try:
        since = date.fromisoformat(str(body.get("since", "")))
        until = date.fromisoformat(str(body.get("until") or body.get("since", "")))
        campaign = create_followup(
            request.user,
            str(body.get("source", "")),
            str(body.get("queue", "")),
            since,
            until,
            str(body.get("disposition") or ""),
            str(body.get("mode") or "progressive"),
            str(body.get("gateway") or ""),
            request.META.get("REMOTE_ADDR"),
        )
    except SupervisionRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except LookupError as exc:
        return Response({"detail": str(exc)}, status=404)
    except ValueError as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(
        {**control.progress(campaign), "url": f"/campaigns/{campaign.name}/"}, status=201
    )
