"""Which queue a dialled number leads to (InboundRoute → queue, or the flow's queue node)."""

from __future__ import annotations

from icm.models import InboundRoute

DEFAULT_QUEUE = "default"


def queue_for_dnis(dnis: str) -> str:
    """The queue name for `dnis`; `default` when no enabled route names one."""
    route = (
        InboundRoute.objects.filter(dnis=dnis, enabled=True)
        .select_related("queue", "flow__published_version")
        .order_by("priority")
        .first()
    )
    if route is None:
        return DEFAULT_QUEUE
    if route.queue is not None:
        return route.queue.name
    version = route.flow.published_version if route.flow else None
    nodes = (version.graph or {}).get("nodes", {}) if version else {}
    for node in nodes.values():
        if isinstance(node, dict) and node.get("type") == "enter_queue" and node.get("queue"):
            return str(node["queue"])
    return DEFAULT_QUEUE
