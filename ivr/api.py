"""REST API of the flow editor (IVR-5, ICM-4): flows, versions (draft, validate, publish,
diff, rollback), node types, uploaded prompts and the text simulator. Thin: parse, call one
action, reply."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipbx_project.api_input import FormParser, MultiPartParser
from ipbx_project.api_schema import OBJECT, errors
from ivr import actions, prompts, simulator
from ivr.engine.diff import diff_graphs
from ivr.engine.interpreter import FlowNotFound
from ivr.engine.nodes import CALL_VARIABLES, SPECS
from ivr.engine.validation import FlowInvalid
from ivr.models import Flow, FlowVersion, Prompt

from . import api_schema as shapes


class FlowPermission(BasePermission):
    """Reading needs ivr.view_flow; saving drafts ivr.add_flowversion; publishing and
    rolling back ivr.change_flow (administrators; business staff may be given them)."""

    needs = {"read": "ivr.view_flow", "draft": "ivr.add_flowversion", "publish": "ivr.change_flow"}

    def has_permission(self, request: Request, view: Any) -> bool:
        action = "read" if request.method in ("GET", "HEAD", "OPTIONS") else view.action
        return bool(request.user and request.user.has_perm(self.needs[action]))


class _FlowView(APIView):
    permission_classes = [IsAuthenticated, FlowPermission]
    action = "read"


def _version(version: FlowVersion, graph: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": version.number,
        "status": version.status,
        "created_at": version.created_at,
        "created_by": version.created_by.username if version.created_by else "",
        "published_at": version.published_at,
    }
    if graph:
        data["graph"] = version.graph
    return data


def _flow(flow: Flow) -> dict[str, Any]:
    published = flow.published_version
    return {
        "name": flow.name,
        "description": flow.description,
        "published": published.number if published else None,
        "versions": [_version(v) for v in flow.versions.all()],
    }


class FlowCreateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Flow
        fields = ["name", "description"]


class FlowListView(_FlowView):
    """GET the flows; POST {name, description} creates one (needs ivr.add_flowversion)."""

    action = "draft"

    @extend_schema(responses={200: shapes.FlowSerializer(many=True), **errors()})
    def get(self, request: Request) -> Response:
        flows = Flow.objects.select_related("published_version").prefetch_related(
            Prefetch("versions", FlowVersion.objects.select_related("created_by"))
        )
        return Response([_flow(f) for f in flows])

    @extend_schema(
        request=FlowCreateSerializer, responses={201: shapes.FlowSerializer, **errors(400)}
    )
    def post(self, request: Request) -> Response:
        serializer = FlowCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flow = serializer.save()
        return Response(_flow(flow), status=status.HTTP_201_CREATED)


class FlowDetailView(_FlowView):
    @extend_schema(responses={200: shapes.FlowSerializer, **errors(404)})
    def get(self, request: Request, name: str) -> Response:
        return Response(_flow(get_object_or_404(Flow, name=name)))


class GraphSerializer(serializers.Serializer):
    graph = serializers.JSONField()


class VersionListView(_FlowView):
    """POST {graph}: save a draft version; the reply lists what would stop it publishing."""

    action = "draft"

    @extend_schema(
        request=GraphSerializer, responses={201: shapes.DraftSerializer, **errors(400, 404)}
    )
    def post(self, request: Request, name: str) -> Response:
        flow = get_object_or_404(Flow, name=name)
        body = GraphSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            version = actions.do_save_draft(flow, body.validated_data["graph"], request.user)
        except actions.DraftRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        problems = actions.validation_problems(version.graph, flow.name)
        return Response({**_version(version), "problems": problems}, status=status.HTTP_201_CREATED)


class VersionDetailView(_FlowView):
    @extend_schema(responses={200: shapes.VersionGraphSerializer, **errors(404)})
    def get(self, request: Request, name: str, number: int) -> Response:
        version = get_object_or_404(FlowVersion, flow__name=name, number=number)
        return Response(_version(version, graph=True))


class ValidateView(_FlowView):
    """POST {graph}: every problem that would stop it publishing, each naming its node."""

    @extend_schema(
        request=GraphSerializer, responses={200: shapes.ValidationSerializer, **errors(400)}
    )
    def post(self, request: Request, name: str) -> Response:
        body = GraphSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        problems = actions.validation_problems(body.validated_data["graph"], name)
        return Response({"valid": not problems, "problems": problems})


class PublishView(_FlowView):
    """POST: publish version N (400 with the problems if it is not valid)."""

    action = "publish"

    @extend_schema(request=None, responses={200: shapes.VersionSerializer, **errors(400, 404)})
    def post(self, request: Request, name: str, number: int) -> Response:
        version = get_object_or_404(
            FlowVersion.objects.select_related("flow"), flow__name=name, number=number
        )
        if version.status == FlowVersion.Status.PUBLISHED:
            return Response(_version(version))
        try:
            actions.check_publish(version)
        except FlowInvalid as exc:
            problems = [{"node": p.node, "message": p.message} for p in exc.problems]
            return Response(
                {"detail": str(exc), "problems": problems}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(_version(version))


class RollbackView(_FlowView):
    """POST: publish a copy of version N as the newest version."""

    action = "publish"

    @extend_schema(request=None, responses={201: shapes.VersionSerializer, **errors(400, 404)})
    def post(self, request: Request, name: str, number: int) -> Response:
        flow = get_object_or_404(Flow, name=name)
        get_object_or_404(FlowVersion, flow=flow, number=number)
        try:
            version = actions.check_rollback(flow, number, request.user)
        except FlowInvalid as exc:  # e.g. a sub-flow it calls now calls back into it
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(_version(version), status=status.HTTP_201_CREATED)


class DiffView(_FlowView):
    """GET ?from=A&to=B: nodes added, removed and changed between two versions."""

    @extend_schema(
        parameters=[
            OpenApiParameter(n, int, required=True, description=f"Version number ({n})")
            for n in ("from", "to")
        ],
        responses={200: OBJECT, **errors(400, 404)},
    )
    def get(self, request: Request, name: str) -> Response:
        try:
            numbers = int(request.query_params["from"]), int(request.query_params["to"])
        except (KeyError, ValueError):
            return Response(
                {"detail": "give ?from=<version>&to=<version>"}, status=status.HTTP_400_BAD_REQUEST
            )
        old, new = (get_object_or_404(FlowVersion, flow__name=name, number=n) for n in numbers)
        return Response(diff_graphs(old.graph or {}, new.graph or {}))


class NodeTypesView(APIView):
    """GET the node types (parameters, exits) the editor's palette offers."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: shapes.NodeTypesSerializer, **errors()})
    def get(self, request: Request) -> Response:
        types = {
            name: {
                "required": spec.required,
                "exits": spec.exits,
                "optional_exits": spec.optional_exits,
                "dynamic_exits": spec.dynamic_exits,
                "terminal": spec.terminal,
            }
            for name, spec in SPECS.items()
        }
        return Response({"types": types, "call_variables": sorted(CALL_VARIABLES)})


class SimulateSerializer(serializers.Serializer):
    session = serializers.CharField(required=False)
    input = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    graph = serializers.JSONField(required=False)
    variables = serializers.DictField(
        required=False, child=serializers.CharField(allow_blank=True, max_length=200)
    )


class SimulateView(_FlowView):
    """POST {graph?, variables?} starts a text conversation with the flow (the draft given,
    else the published version); POST {session, input} continues it. Simulating a posted
    graph needs ivr.add_flowversion: a graph can call any connector with any parameters."""

    @extend_schema(request=SimulateSerializer, responses={200: OBJECT, **errors(400, 404)})
    def post(self, request: Request, name: str) -> Response:
        body = SimulateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data.get("graph") is not None and not request.user.has_perm("ivr.add_flowversion"):
            return Response(
                {"detail": "simulating a draft needs the right to edit flows"},
                status=status.HTTP_403_FORBIDDEN,
            )
        try:
            if data.get("session"):
                reply = simulator.answer(request.session, data["session"], data.get("input", ""))
            else:
                draft = data.get("graph")
                if draft is not None:
                    actions.check_graph_shape(draft)
                variables = {"ani": "5550100", "dnis": "8000", **data.get("variables", {})}
                reply = simulator.start(request.session, name, draft, variables)
        except simulator.SimulationNotFound:
            return Response(
                {"detail": "no such simulation: start again"}, status=status.HTTP_404_NOT_FOUND
            )
        except (FlowNotFound, actions.DraftRefused) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(reply)


class PromptPermission(BasePermission):
    """Listing and listening need ivr.view_prompt; uploading ivr.add_prompt."""

    def has_permission(self, request: Request, view: Any) -> bool:
        needed = "ivr.view_prompt" if request.method in ("GET", "HEAD") else "ivr.add_prompt"
        return bool(request.user and request.user.has_perm(needed))


def _prompt(prompt: Prompt) -> dict[str, Any]:
    return {
        "name": prompt.name,
        "file": f"prompt:{prompt.name}",
        "language": prompt.language,
        "transcript": prompt.transcript,
        "duration_seconds": prompt.duration_seconds,
        "sample_rate": prompt.sample_rate,
        "uploaded_at": prompt.uploaded_at,
    }


class PromptListView(APIView):
    """GET the uploaded prompts; POST multipart {name, file (WAV), transcript, language}."""

    permission_classes = [IsAuthenticated, PromptPermission]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: shapes.PromptSerializer(many=True), **errors()})
    def get(self, request: Request) -> Response:
        return Response([_prompt(p) for p in Prompt.objects.all()])

    @extend_schema(
        request={"multipart/form-data": shapes.PromptUploadSerializer},
        responses={201: shapes.PromptSerializer, **errors(400)},
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"detail": "attach the WAV as 'file'"}, status=400)
        if upload.size > prompts.MAX_BYTES:
            return Response({"detail": "a prompt is at most 20 MiB"}, status=400)
        name = str(request.data.get("name", ""))
        if Prompt.objects.filter(name=name).exists() and not request.user.has_perm(
            "ivr.change_prompt"
        ):
            return Response(
                {
                    "detail": f"prompt {name!r} exists: replacing it (every flow "
                    "playing it hears the new one) needs ivr.change_prompt"
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        try:
            prompt = prompts.do_store_prompt(
                name,
                upload.read(),
                str(request.data.get("transcript", "")),
                str(request.data.get("language", "")),
                request.user,
            )
        except prompts.PromptRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(_prompt(prompt), status=status.HTTP_201_CREATED)


class PromptAudioView(APIView):
    """GET the prompt's WAV (to listen to it in the editor)."""

    permission_classes = [IsAuthenticated, PromptPermission]

    @extend_schema(
        responses={
            (200, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="The WAV"),
            **errors(404),
        }
    )
    def get(self, request: Request, name: str) -> FileResponse:
        prompt = get_object_or_404(Prompt, name=name)
        path = prompts.local_path(prompt)
        if not path.is_file():
            raise Http404("the prompt's file is missing")
        return FileResponse(path.open("rb"), content_type="audio/wav")
