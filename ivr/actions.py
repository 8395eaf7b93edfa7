"""Publishing IVR flow versions (ICM-4): validate, then switch new calls to the version."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ivr.engine.validation import FlowInvalid, validate
from ivr.models import Flow, FlowVersion


def subflow_map() -> dict[str, set[str]]:
    """Flow name → the flows its published version calls (for cross-flow cycle checks)."""
    calls: dict[str, set[str]] = {}
    for flow in Flow.objects.select_related("published_version"):
        graph = flow.published_version.graph if flow.published_version else {}
        nodes = (graph or {}).get("nodes") or {}
        calls[flow.name] = {
            str(node["flow"]) for node in nodes.values()
            if isinstance(node, dict) and node.get("type") == "subflow" and node.get("flow")
        }  # fmt: skip
    return calls


def check_publish(version: FlowVersion) -> None:
    """Raise FlowInvalid (every problem, each naming its node) or publish `version`."""
    validate(version.graph or {}, version.flow.name, subflow_map())
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


__all__ = ["FlowInvalid", "check_publish", "do_publish", "subflow_map"]
