"""Work groups over HTTP (SV-13): `/api/supervision/work-groups/` (list, create),
`…/<id>/` (read, change, delete), `…/<id>/agents/` (add and remove agents) and the page
`/supervision/work-groups/`. Bodies are checked for shape here; supervision.workgroups decides
who may do what, audits it, and applies a change whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from icm.models import Queue
from ipbx_project.api_schema import errors
from supervision import api_schema as shapes
from supervision import workgroups
from supervision.actions import SupervisionRefused, UnknownTarget
from supervision.roles import ADMINISTRATOR, role_of

GROUP_FIELDS = {"name": str, "description": str, "leaders": list, "queues": list}
MEMBER_FIELDS = ("add", "remove")
LIST_MAX = 500  # ids in one list: more is a mistake, not a team
EXAMPLE_GROUP = '{"name": "night shift", "leaders": ["<username>"], "queues": ["<queue>"]}'


class Malformed(ValueError):
    """A body of the wrong shape; the message shows the right one."""


@extend_schema(
    methods=["GET"],
    operation_id="supervision_work_groups_list",
    responses={200: shapes.WorkGroupListSerializer, **errors()},
)
@extend_schema(
    methods=["POST"],
    request=shapes.WorkGroupBodySerializer,
    responses={201: shapes.WorkGroupSerializer, **errors(400)},
)
@api_view(["GET", "POST"])
def work_groups(request: Request) -> Response:
    """GET the groups in the user's scope; POST {name, description?, leaders?, queues?}."""
    user = request.user
    if request.method == "GET":
        return _answer(lambda: {"groups": workgroups.described_groups(user)})

    def create() -> dict[str, Any]:
        fields = _group_fields(request.data, creating=True)
        group = workgroups.create_group(user, **fields, address=request.META.get("REMOTE_ADDR"))
        return workgroups.describe(group, user)

    return _answer(create, status=201)


@extend_schema(methods=["GET"], responses={200: shapes.WorkGroupSerializer, **errors(404)})
@extend_schema(
    methods=["PATCH"],
    request=shapes.WorkGroupBodySerializer,
    responses={200: shapes.WorkGroupSerializer, **errors(400, 404)},
)
@extend_schema(methods=["DELETE"], responses={204: None, **errors(400, 404)})
@api_view(["GET", "PATCH", "DELETE"])
def work_group(request: Request, group_id: int) -> Response:
    """GET one group; PATCH {name?, description?, leaders?, queues?}; DELETE it."""
    user, address = request.user, request.META.get("REMOTE_ADDR")
    if request.method == "DELETE":
        return _answer(lambda: workgroups.delete_group(user, group_id, address), status=204)

    def read_or_change() -> dict[str, Any]:
        if request.method == "GET":
            group = workgroups.access_group(user, group_id)
        else:
            fields = _group_fields(request.data)
            group = workgroups.change_group(user, group_id, **fields, address=address)
        return workgroups.describe(group, user)

    return _answer(read_or_change)


@extend_schema(
    request=shapes.WorkGroupMembersSerializer,
    responses={200: shapes.WorkGroupSerializer, **errors(400, 404)},
)
@api_view(["POST"])
def work_group_agents(request: Request, group_id: int) -> Response:
    """POST {"add": [login IDs], "remove": [login IDs]}: change the group's agents at once."""

    def change() -> dict[str, Any]:
        body = _object(request.data, '{"add": ["<agent ID>"], "remove": ["<agent ID>"]}')
        _no_other_fields(body, MEMBER_FIELDS)
        add, remove = (_strings(body.get(k, []), k) for k in MEMBER_FIELDS)
        if not add and not remove:
            raise Malformed('give agents to add or remove: {"add": ["<agent ID>"]}')
        group = workgroups.change_members(
            request.user, group_id, add, remove, request.META.get("REMOTE_ADDR")
        )
        return workgroups.describe(group, request.user)

    return _answer(change)


def _answer(change: Callable[[], Any], status: int = 200) -> Response:
    """Run it; refusals as HTTP answers (403 not allowed, 404 no such group, 400 malformed
    or impossible as asked)."""
    try:
        result = change()
    except SupervisionRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except UnknownTarget as exc:
        return Response({"detail": str(exc)}, status=404)
    except (Malformed, workgroups.WorkGroupInvalid) as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(result, status=status)


def _group_fields(data: Any, creating: bool = False) -> dict[str, Any]:
    """name, description (strings), leaders, queues (lists of strings) from a body."""
    body = _object(data, EXAMPLE_GROUP)
    _no_other_fields(body, tuple(GROUP_FIELDS))
    if creating and "name" not in body:
        raise Malformed(f"a new work group needs a name: {EXAMPLE_GROUP}")
    if not creating and not body:
        raise Malformed("nothing to change: give a name, description, leaders or queues")
    fields: dict[str, Any] = {}
    for name, kind in GROUP_FIELDS.items():
        if name not in body:
            continue
        if kind is str:
            if not isinstance(body[name], str):
                raise Malformed(f"{name} is a string")
            fields[name] = body[name]
        else:
            fields[name] = _strings(body[name], name)
    return fields


def _object(data: Any, example: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Malformed(f"send a JSON object, e.g. {example}")
    return dict(data)


def _no_other_fields(body: dict[str, Any], known: tuple[str, ...]) -> None:
    other = sorted(set(body) - set(known))
    if other:
        hint = (
            " (add and remove agents with POST /api/supervision/work-groups/<id>/agents/)"
            if "agents" in other
            else ""
        )
        raise Malformed(f"unknown field {', '.join(other)}: expected {', '.join(known)}{hint}")


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Malformed(f'{name} is a list of strings, e.g. "{name}": ["ag1"]')
    if len(value) > LIST_MAX:
        raise Malformed(f"at most {LIST_MAX} in {name} at once")
    return value


@login_required
@ensure_csrf_cookie  # the page's script sends it back with every change
def work_groups_page(request: HttpRequest) -> HttpResponse:
    """The groups in the user's scope with their members; the controls its role allows."""
    try:
        groups = workgroups.described_groups(request.user)
    except SupervisionRefused as exc:
        raise PermissionDenied(str(exc)) from exc
    active = workgroups.addable_agents(request.user)  # a team leader: its own agents only
    for group in groups:
        members = {a["login_id"] for a in group["agents"]}
        group["addable"] = [a for a in active if a["login_id"] not in members]
    administrator = role_of(request.user) == ADMINISTRATOR
    return render(
        request,
        "supervision/workgroups.html",
        {
            "groups": groups,
            "administrator": administrator,
            "queues": list(Queue.objects.order_by("name").values_list("name", flat=True))
            if administrator
            else [],
            "users": list(
                get_user_model()
                .objects.filter(is_active=True)
                .order_by("username")
                .values_list("username", flat=True)
            )
            if administrator
            else [],
        },
    )
