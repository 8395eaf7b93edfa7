"""The staffing calculator over HTTP (issue 8): `GET /api/stats/staffing/?calls=&aht=
&interval=&target=&threshold=&shrinkage=&max_occupancy=` and the page `/stats/staffing/`
(team leaders and administrators)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from stats.erlang import StaffingError, agents_needed, staffing_for
from supervision.roles import is_supervisor

FIELDS = {"calls": 200.0, "aht": 180.0, "interval": 3600.0, "target": 80.0, "threshold": 20.0,
          "shrinkage": 0.0, "max_occupancy": None}  # fmt: skip


def _inputs(params: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, default in FIELDS.items():
        raw = params.get(name)
        if raw in (None, ""):
            values[name] = default
            continue
        try:
            values[name] = float(raw)
        except ValueError as exc:
            raise StaffingError(f"{name}: not a number ({raw!r})") from exc
    return values


def calculate(params: Any) -> dict[str, Any]:
    """The agents needed, and the table of service levels around that number."""
    v = _inputs(params)
    occupancy = v["max_occupancy"] / 100 if v["max_occupancy"] is not None else None
    need = agents_needed(v["calls"], v["aht"], v["interval"], v["target"] / 100,
                         v["threshold"], occupancy, v["shrinkage"] / 100)  # fmt: skip
    table = [asdict(staffing_for(n, v["calls"], v["aht"], v["interval"], v["threshold"],
                                 v["shrinkage"] / 100))
             for n in range(max(1, need.agents - 3), need.agents + 4)]  # fmt: skip
    return {"inputs": v, "needed": asdict(need), "table": table}


@api_view(["GET"])
def staffing_api(request: Request) -> Response:
    if not is_supervisor(request.user):
        return Response({"detail": "for team leaders and administrators"}, status=403)
    try:
        return Response(_json_safe(calculate(request.query_params)))
    except StaffingError as exc:
        return Response({"detail": str(exc)}, status=400)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and value == float("inf"):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


@login_required
def staffing_page(request: HttpRequest) -> HttpResponse:
    if not is_supervisor(request.user):
        return HttpResponse("for team leaders and administrators", status=403)
    try:
        result, error = calculate(request.GET), ""
    except StaffingError as exc:
        result, error = None, str(exc)
    return render(request, "stats/staffing.html", {"result": result, "error": error,
                                                   "params": request.GET})  # fmt: skip
