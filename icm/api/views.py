"""icm REST views: thin — parse, call one action, serialize."""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from icm import actions
from icm.bus.commands import CommandError, CommandOutcomeUnknown, IcmUnavailable
from icm.live_scope import scoped_snapshots
from icm.models import Call, Queue
from icm.reports import queue_report
from ipbx_project.api_schema import OBJECT, errors, query, since_until
from supervision.scope import calls_filter, calls_scope, may_control_agent

from .serializers import (
    AgentStateSerializer,
    CallSerializer,
    HangupSerializer,
    OriginateSerializer,
)

ORIGINATE_KEY = re.compile(r"[A-Za-z0-9_.:+-]{1,64}")


class CanViewCalls(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class CanControlCalls(DjangoModelPermissions):
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "POST": ["%(app_label)s.change_%(model_name)s"],
    }


def _command_error(exc: CommandError) -> Response:
    if isinstance(exc, IcmUnavailable):
        code = status.HTTP_503_SERVICE_UNAVAILABLE
    elif isinstance(exc, CommandOutcomeUnknown):  # taken, may have run: retry with its key
        code = status.HTTP_504_GATEWAY_TIMEOUT
    elif isinstance(exc, actions.OriginateRefused):
        code = status.HTTP_403_FORBIDDEN
    else:
        code = status.HTTP_409_CONFLICT
    return Response({"detail": str(exc)}, status=code)


class LiveSnapshotView(APIView):
    """GET the live calls of every switch (or ?switch=NAME) with their sequence numbers."""

    permission_classes = [IsAuthenticated, CanViewCalls]
    queryset = Call.objects.none()

    @extend_schema(
        parameters=[query("switch", "Only this switch")],
        responses={200: OBJECT, **errors(503)},
    )
    def get(self, request: Request) -> Response:
        try:
            snapshots = actions.live_snapshots(request.query_params.get("switch"))
        except actions.BusUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"switches": scoped_snapshots(snapshots, calls_scope(request.user))})


class HangupView(APIView):
    """POST: hang up a live call (all its legs) through icm."""

    permission_classes = [IsAuthenticated, CanControlCalls]
    queryset = Call.objects.none()

    @extend_schema(
        request=HangupSerializer,
        parameters=[query("switch", "The call's switch")],
        responses={202: OBJECT, **errors(400, 409, 503)},
    )
    def post(self, request: Request, call_uuid: str) -> Response:
        body = HangupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        switch = request.query_params.get("switch", settings.IPBX_SWITCH_NAME)
        try:
            result = actions.check_hangup(switch, call_uuid, body.validated_data["cause"])
        except CommandError as exc:
            return _command_error(exc)
        return Response(result, status=status.HTTP_202_ACCEPTED)


class OriginateView(APIView):
    """POST: place a call from an endpoint to a destination through icm."""

    permission_classes = [IsAuthenticated, CanControlCalls]
    queryset = Call.objects.none()

    @extend_schema(
        request=OriginateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="The same key on a retry never places a second call "
                "(letters, digits, . _ : + -; 64 at most).",
            )
        ],
        responses={201: OBJECT, **errors(400, 409, 503, 504)},
    )
    def post(self, request: Request) -> Response:
        body = OriginateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        switch = data.pop("switch", settings.IPBX_SWITCH_NAME)
        given = request.headers.get("Idempotency-Key")
        if given is not None and not ORIGINATE_KEY.fullmatch(given):
            return Response({"detail": "Idempotency-Key: letters, digits, . _ : + -"}, status=400)
        key = f"api{request.user.pk}-{given}" if given else None  # one user's keys
        try:
            result = actions.check_originate(switch, data, key)
        except CommandError as exc:
            return _command_error(exc)
        return Response(result, status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[query(f, f"Only calls with this {f}") for f in ("ani", "dnis", "state", "switch")]
)
class CallListView(generics.ListAPIView):
    """GET CDRs, newest first; filter with ?ani=, ?dnis=, ?state=, ?switch=."""

    permission_classes = [IsAuthenticated, CanViewCalls]
    serializer_class = CallSerializer

    def get_queryset(self):
        qs = Call.objects.select_related("switch", "queue").prefetch_related("legs")
        qs = qs.filter(calls_filter(calls_scope(self.request.user)))  # a team leader: its teams'
        params = self.request.query_params
        for field in ("ani", "dnis", "state"):
            if params.get(field):
                qs = qs.filter(**{field: params[field]})
        if params.get("switch"):
            qs = qs.filter(switch__name=params["switch"])
        return qs.order_by("-created_at")


class AgentStateView(APIView):
    """POST an agent's state change (the agent itself, or a user who may change agents)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=AgentStateSerializer, responses={200: OBJECT, **errors(400, 409, 503)})
    def post(self, request: Request, login_id: str) -> Response:
        body = AgentStateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if not may_control_agent(request.user, login_id):
            return Response({"detail": "not your agent"}, status=status.HTTP_403_FORBIDDEN)
        switch = data.get("switch", settings.IPBX_SWITCH_NAME)
        try:
            result = actions.check_agent_state(switch, login_id, data["state"], data["reason"])
        except CommandError as exc:
            return _command_error(exc)
        return Response(result)


class QueueReportView(APIView):
    """GET a queue's service level, abandon rate and ASA for ?since=&until= (ISO times)."""

    permission_classes = [IsAuthenticated, CanViewCalls]
    queryset = Call.objects.none()

    @extend_schema(parameters=since_until(), responses={200: OBJECT, **errors(400, 404)})
    def get(self, request: Request, name: str) -> Response:
        if not calls_scope(request.user).has_queue(name):  # another team's: as if none
            return Response(
                {"detail": "No Queue matches the given query."}, status=status.HTTP_404_NOT_FOUND
            )
        queue = get_object_or_404(Queue, name=name)
        try:
            since = _parse_time(
                request.query_params.get("since"), default=timezone.now() - timedelta(days=1)
            )
            until = _parse_time(request.query_params.get("until"), default=timezone.now())
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(queue_report(queue, since, until))


def _parse_time(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not an ISO date-time: {value!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
