"""Flows from CallCenterDB for the interpreter (a FlowSource): pinned versions cached for
good (a published graph never changes); which version is published is read for every new
run (one indexed query), so a version reaches new calls the moment it is published. While
the database is away, a flow runs the last version this process saw published (issue 21:
an outage must not hang up every new caller)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.db import DatabaseError

from ivr.models import Flow, FlowVersion

log = logging.getLogger(__name__)

GRAPHS_KEPT = 512


def _published_number(flow: str) -> tuple[int, int] | None:
    """(the flow's id, its published version's number)."""
    return (
        Flow.objects.filter(name=flow, published_version__isnull=False)
        .values_list("id", "published_version__number")
        .first()
    )


def _version_graph(flow: str, version: int) -> dict[str, Any]:
    return FlowVersion.objects.values_list("graph", flat=True).get(flow__name=flow, number=version)


class DbFlows:
    """A FlowSource reading CallCenterDB; `run_db(func, *args)` runs the queries (icm hands
    them to its database workers; the web process calls them directly)."""

    def __init__(self, run_db: Callable[..., Any] | None = None) -> None:
        self.run_db = run_db or (lambda func, *args: func(*args))
        self._graphs: dict[tuple[str, int], Mapping[str, Any]] = {}
        self._flow_ids: dict[str, int] = {}  # a flow deleted and made again starts at v1 again
        self._last_published: dict[str, int] = {}

    def graph(self, flow: str, version: int) -> Mapping[str, Any]:
        key = (flow, version)
        found = self._graphs.get(key)
        if found is None:
            found = self.run_db(_version_graph, flow, version)
            self._remember(key, found)
        return found

    def published(self, flow: str) -> tuple[int, Mapping[str, Any]] | None:
        try:
            found = self.run_db(_published_number, flow)
        except DatabaseError as exc:
            number = self._last_published.get(flow)
            if number is None or (flow, number) not in self._graphs:
                raise
            log.warning("flow %s: database away (%s); version %d runs", flow, exc, number)
            return number, self._graphs[(flow, number)]
        if found is None:
            self._last_published.pop(flow, None)
            return None
        flow_id, number = found
        if self._flow_ids.get(flow, flow_id) != flow_id:
            self._graphs = {k: v for k, v in self._graphs.items() if k[0] != flow}
        self._flow_ids[flow] = flow_id
        graph = self.graph(flow, number)
        self._last_published[flow] = number
        return number, graph

    def _remember(self, key: tuple[str, int], graph: Mapping[str, Any]) -> None:
        if len(self._graphs) >= GRAPHS_KEPT:
            self._graphs.pop(next(iter(self._graphs)))
        self._graphs[key] = graph
