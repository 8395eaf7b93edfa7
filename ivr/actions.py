"""Publishing IVR flow versions (ICM-4): validate, then switch new calls to the version."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from icm.models import Queue, Schedule
from ivr.engine.validation import FlowInvalid, Problem, validate
from ivr.models import DataConnector, Flow, FlowVersion
from ivr.sound_files import unreachable_files

# node type -> (parameter naming a configured object, what it is, the names that exist)
_REFERENCES = {
    "enter_queue": ("queue", "queue"),
    "lookup": ("connector", "enabled connector"),
    "schedule": ("schedule", "schedule"),
    "subflow": ("flow", "flow"),
}


def _existing(kind: str) -> set[str]:
    if kind == "queue":
        return set(Queue.objects.values_list("name", flat=True))
    if kind == "enabled connector":
        return set(DataConnector.objects.filter(enabled=True).values_list("name", flat=True))
    if kind == "schedule":
        return set(Schedule.objects.values_list("name", flat=True))
    return set(Flow.objects.values_list("name", flat=True))


def reference_problems(graph: dict[str, Any]) -> list[Problem]:
    """Nodes naming a queue, connector, schedule or sub-flow that does not exist, or playing
    a file the switch cannot reach (a typo would otherwise only show on a live call)."""
    problems, known = [], {}
    for node_id, node in sorted((graph.get("nodes") or {}).items()):
        if not isinstance(node, dict) or node.get("type") not in _REFERENCES:
            continue
        param, kind = _REFERENCES[node["type"]]
        name = node.get(param)
        if not name:
            continue
        if kind not in known:
            known[kind] = _existing(kind)
        if str(name) not in known[kind]:
            problems.append(Problem(str(node_id), f"there is no {kind} named {name!r}"))
    for node_id, node in sorted((graph.get("nodes") or {}).items()):
        after = node.get("after_call") if isinstance(node, dict) else None
        if after and node.get("type") == "enter_queue":  # AG-7: a flow after the agent
            if "flow" not in known:
                known["flow"] = _existing("flow")
            if str(after) not in known["flow"]:
                problems.append(Problem(str(node_id), f"there is no flow named {after!r}"))
    problems += unreachable_files(graph)  # the switch would play FILE NOT FOUND
    return problems


def subflow_map() -> dict[str, set[str]]:
    """Flow name → the flows its published version calls (for cross-flow cycle checks)."""
    calls: dict[str, set[str]] = {}
    for flow in Flow.objects.select_related("published_version"):
        graph = flow.published_version.graph if flow.published_version else {}
        nodes = (graph or {}).get("nodes") or {}
        calls[flow.name] = {
            str(node["flow"])
            for node in nodes.values()
            if isinstance(node, dict) and node.get("type") == "subflow" and node.get("flow")
        }
    return calls


def check_publish(version: FlowVersion) -> None:
    """Raise FlowInvalid (every problem, each naming its node) or publish `version`."""
    graph = version.graph or {}
    problems = reference_problems(graph) if isinstance(graph, dict) else []
    try:
        validate(graph, version.flow.name, subflow_map())
    except FlowInvalid as exc:
        problems = exc.problems + problems
    if problems:
        raise FlowInvalid(problems)
    do_publish(version)


def do_publish(version: FlowVersion) -> None:
    """Make `version` the one new calls run; the previous published version is retired
    (calls in progress keep the graph they started with)."""
    with transaction.atomic():
        flow = Flow.objects.select_for_update().get(pk=version.flow_id)
        FlowVersion.objects.filter(flow=flow, status=FlowVersion.Status.PUBLISHED).exclude(
            pk=version.pk
        ).update(status=FlowVersion.Status.RETIRED)
        version.status = FlowVersion.Status.PUBLISHED
        version.published_at = timezone.now()
        version.save(update_fields=["status", "published_at"])
        flow.published_version = version
        flow.save(update_fields=["published_version"])


MAX_GRAPH_BYTES = 256 * 1024
MAX_NODES = 500


class DraftRefused(ValueError):
    """A graph that cannot even be saved as a draft (not a flow graph, too big)."""


def check_graph_shape(graph: Any) -> dict[str, Any]:
    """A draft must be a flow-shaped object of bounded size; its content is checked at
    publish time."""
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), dict):
        raise DraftRefused('a flow graph is an object with "start" and "nodes"')
    if len(graph["nodes"]) > MAX_NODES:
        raise DraftRefused(f"a flow has at most {MAX_NODES} nodes")
    if len(json.dumps(graph)) > MAX_GRAPH_BYTES:
        raise DraftRefused(f"a flow graph is at most {MAX_GRAPH_BYTES // 1024} KiB")
    return graph


def do_save_draft(flow: Flow, graph: dict[str, Any], user: Any) -> FlowVersion:
    """A new draft version holding `graph` (numbered after the last version)."""
    check_graph_shape(graph)
    with transaction.atomic():
        locked = Flow.objects.select_for_update().get(pk=flow.pk)
        last = locked.versions.order_by("-number").values_list("number", flat=True).first()
        return FlowVersion.objects.create(
            flow=locked,
            number=(last or 0) + 1,
            graph=graph,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )


def check_rollback(flow: Flow, number: int, user: Any) -> FlowVersion:
    """Publish a copy of version `number` as the newest version (history is never
    rewritten)."""
    old = FlowVersion.objects.get(flow=flow, number=number)
    version = do_save_draft(flow, old.graph, user)
    check_publish(version)
    return version


def validation_problems(graph: Any, flow_name: str) -> list[dict[str, str]]:
    """Every problem of `graph` as {node, message} (empty: it would publish)."""
    try:
        check_graph_shape(graph)
    except DraftRefused as exc:
        return [{"node": "", "message": str(exc)}]
    problems = reference_problems(graph)
    try:
        validate(graph, flow_name, subflow_map())
    except FlowInvalid as exc:
        problems = exc.problems + problems
    return [{"node": p.node, "message": p.message} for p in problems]
