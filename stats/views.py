"""The staffing calculator over HTTP (issue 8): `GET /api/stats/staffing/?calls=&aht=
&interval=&target=&threshold=&shrinkage=&max_occupancy=&model=erlang_c|erlang_a&patience=
&max_abandon=` and the page `/stats/staffing/` (team leaders and administrators)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from ipbx_project.api_schema import OBJECT, errors, query
from stats import erlang, erlang_a
from stats.erlang import StaffingError
from supervision.roles import is_supervisor

FIELDS = {
    "calls": 200.0,
    "aht": 180.0,
    "interval": 3600.0,
    "target": 80.0,
    "threshold": 20.0,
    "shrinkage": 0.0,
    "max_occupancy": None,
}
ERLANG_A_FIELDS = {"patience": 120.0, "max_abandon": None}  # seconds; percent
MODELS = ("erlang_c", "erlang_a")


def _inputs(params: Any) -> dict[str, Any]:
    model = params.get("model") or "erlang_c"
    if model not in MODELS:
        raise StaffingError(f"model: erlang_c or erlang_a, not {model!r}")
    fields = FIELDS | ERLANG_A_FIELDS if model == "erlang_a" else FIELDS
    values: dict[str, Any] = {"model": model}
    for name, default in fields.items():
        raw = params.get(name)
        if raw in (None, ""):
            values[name] = default
            continue
        try:
            values[name] = float(raw)
        except ValueError as exc:
            raise StaffingError(f"{name}: not a number ({raw!r})") from exc
        if not math.isfinite(values[name]):
            raise StaffingError(f"{name}: not a finite number ({raw!r})")
    return values


def _share(percent: float | None) -> float | None:
    return percent / 100 if percent is not None else None


def calculate(params: Any) -> dict[str, Any]:
    """The agents needed, and the table of service levels around that number."""
    v = _inputs(params)
    load = {name: v[name] for name in ("calls", "aht", "interval", "threshold")}
    load["shrinkage"] = v["shrinkage"] / 100
    goals = {"target": v["target"] / 100, "max_occupancy": _share(v["max_occupancy"])}
    need: erlang.Staffing | erlang_a.StaffingA
    staffing_for: Callable[..., erlang.Staffing | erlang_a.StaffingA]
    if v["model"] == "erlang_a":
        load["patience"] = v["patience"]
        need = erlang_a.agents_needed(**load, **goals, max_abandon=_share(v["max_abandon"]))
        staffing_for = erlang_a.staffing_for
    else:
        need, staffing_for = erlang.agents_needed(**load, **goals), erlang.staffing_for
    table = [
        asdict(staffing_for(n, **load)) for n in range(max(1, need.agents - 3), need.agents + 4)
    ]
    return {"inputs": v, "needed": asdict(need), "table": table}


@extend_schema(
    parameters=[
        query("model", "The queueing model", enum=MODELS),
        *(query(name, f"{name} (a number)", float) for name in {**FIELDS, **ERLANG_A_FIELDS}),
    ],
    responses={200: OBJECT, **errors(400)},
)
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
    return render(
        request, "stats/staffing.html", {"result": result, "error": error, "params": request.GET}
    )
