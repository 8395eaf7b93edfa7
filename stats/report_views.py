"""The reports over HTTP: the page `/stats/reports/<name>/` (filters, chart, table,
printable), `GET /api/stats/reports/<name>/` (the same report as JSON) and the exports
`?format=csv|xlsx` — team leaders (their scope) and administrators only."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from agents.models import WorkGroup
from ipbx_project.api_schema import OBJECT, errors, query
from stats import reports
from stats.callback_report import callbacks
from stats.export import as_csv, as_xlsx
from stats.survey_report import surveys
from supervision.roles import is_supervisor
from supervision.scope import scope_of

TITLES = {
    "intraday": "Intraday",
    "hourly": "Hourly traffic",
    "queues": "Queues",
    "agents": "Agent scorecard",
    "not_ready": "Not ready",
    "abandoned": "Abandoned",
    "campaigns": "Campaigns",
    "surveys": "Surveys",
    "callbacks": "Call-backs",
    "cost": "Cost",
    "forecast": "Staffing plan",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def build(user: Any, name: str, params: Any) -> reports.Report:
    """The report `name` for `user` with the request's filters (BadFilter on bad ones)."""
    if name not in TITLES:
        raise LookupError(f"no report {name!r} (one of {', '.join(TITLES)})")
    filters = reports.Filters.parse(params, scope_of(user))
    if name == "cost":
        report = reports.cost(filters, str(params.get("by") or "queue"))
    elif name == "surveys":
        report = surveys(filters)
    elif name == "callbacks":
        report = callbacks(filters)
    elif name == "forecast":
        from stats.staffing_plan import plan

        report = plan(filters, params)
    else:
        report = reports.REPORTS[name](filters)
    report.filters = filters.given
    return report


def _export(report: reports.Report, fmt: str) -> HttpResponse:
    stem = f"{report.name}-{report.filters.get('since', '')}-{report.filters.get('until', '')}"
    if fmt == "csv":
        response = HttpResponse(as_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    else:
        response = HttpResponse(as_xlsx(report), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    return response


@login_required
@ensure_csrf_cookie
def report_page(request: HttpRequest, name: str) -> HttpResponse:
    if not is_supervisor(request.user):
        return HttpResponse("for team leaders and administrators", status=403)
    error, report = "", None
    try:
        report = build(request.user, name, request.GET)
    except LookupError as exc:
        raise Http404(str(exc)) from exc
    except reports.BadFilter as exc:
        error = str(exc)
    fmt = request.GET.get("format", "")
    if report is not None and fmt in ("csv", "xlsx"):
        return _export(report, fmt)
    scope = scope_of(request.user)
    groups = WorkGroup.objects.order_by("name")
    if not scope.everything:
        groups = groups.filter(leaders=request.user)
    return render(
        request,
        "stats/report.html",
        {
            "name": name,
            "titles": TITLES,
            "report": report,
            "error": error,
            "given": report.filters
            if report
            else {k: request.GET.get(k, "") for k in ("since", "until", "queue", "group", "agent")},
            "groups": groups,
            "query": request.GET.urlencode(),
            # plain JSON values (as the API gives them), printed by json_script: escaped for a
            # <script> element, so a value holding "</script>" cannot end it (issue 18)
            "data": _plain(report.as_json()) if report else None,
        },
        status=400 if error else 200,
    )


def _plain(data: Any) -> Any:
    """`data` as plain JSON values: dates, decimals and the like as their text."""
    return json.loads(json.dumps(data, default=str))


@extend_schema(
    parameters=[
        OpenApiParameter("name", str, OpenApiParameter.PATH, enum=list(TITLES)),
        query("since", "First day (YYYY-MM-DD)"),
        query("until", "Last day (YYYY-MM-DD)"),
        query("date", "One day (YYYY-MM-DD)"),
        *(query(f, f"Only this {f}") for f in ("queue", "group", "agent")),
        query("by", "cost: per queue, agent, campaign or destination"),
        query("weeks", "forecast: weeks of history (1–12)", int),
        query("patience", "forecast: callers' patience, seconds", float),
        query("shrinkage", "forecast: shrinkage, percent", float),
        query("export", "A file instead of JSON", enum=["csv", "xlsx"]),
    ],
    responses={
        (200, "application/json"): OBJECT,
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="?export=csv"),
        (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="?export=xlsx"),
        **errors(400, 404),
    },
)
@api_view(["GET"])
def report_api(request: Request, name: str) -> Response | HttpResponse:
    if not is_supervisor(request.user):
        return Response({"detail": "for team leaders and administrators"}, status=403)
    try:
        report = build(request.user, name, request.query_params)
    except LookupError as exc:
        return Response({"detail": str(exc)}, status=404)
    except reports.BadFilter as exc:
        return Response({"detail": str(exc)}, status=400)
    fmt = request.query_params.get("export", "")
    if fmt in ("csv", "xlsx"):
        return _export(report, fmt)
    return Response(_plain(report.as_json()))
