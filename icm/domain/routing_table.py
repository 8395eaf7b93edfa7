"""The routing configuration a new call is routed by, held in memory (R-3, R-9, IVR-7):
routing rules, inbound routes, schedules with their holidays, and queue greetings.

Pure: `icm.routing_lookup.load_routing_table` builds it from CallCenterDB; icm asks it on
every call without a query, and keeps routing from the last table it read while the database
is away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from icm.domain.schedule import OpenInterval, is_open

DEFAULT_QUEUE = "default"
ALWAYS, WHILE_OPEN, WHILE_CLOSED = "always", "open", "closed"  # a rule's `when`


@dataclass(frozen=True, slots=True)
class Opening:
    """A schedule: weekly open intervals in its time zone, closed on its holidays (its own
    and the global ones)."""

    timezone: str
    intervals: tuple[OpenInterval, ...]
    holidays: frozenset[date]

    def open_at(self, at: datetime) -> bool:
        return is_open(self.intervals, self.holidays, self.timezone, at)


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """A routing rule on system information (R-3): dialled number ("" any), caller prefix
    ("" any) and, unless `when` is always, whether its schedule is open → a queue."""

    name: str
    dnis: str
    caller_prefix: str
    when: str
    schedule: Opening | None
    queue: str

    def matches(self, dnis: str, ani: str, at: datetime) -> bool:
        if self.dnis and self.dnis != dnis:
            return False
        if self.caller_prefix and not ani.startswith(self.caller_prefix):
            return False
        if self.when == ALWAYS or self.schedule is None:
            return True
        return self.schedule.open_at(at) == (self.when == WHILE_OPEN)


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """A dialled number's inbound route: its queue (for a flow, the queue its enter-queue node
    names), its flow and the flow for outside its schedule (night service, IVR-7)."""

    queue: str
    flow: str = ""
    closed_flow: str = ""
    schedule: Opening | None = None

    def flow_at(self, at: datetime) -> str:
        if self.flow and self.closed_flow and self.schedule is not None:
            if not self.schedule.open_at(at):
                return self.closed_flow
        return self.flow


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Rules in the order they are tried, the first enabled route of each dialled number,
    each queue's greetings by caller category; `version` names the configuration read."""

    rules: tuple[RuleEntry, ...] = ()
    routes: Mapping[str, RouteEntry] = field(default_factory=dict)
    greetings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    version: int = 0

    def route(self, dnis: str, ani: str, at: datetime) -> tuple[str, str, str]:
        """(queue, why, flow): the first matching rule (no flow), else the inbound route's
        queue and its flow at `at`, else the default queue."""
        for rule in self.rules:
            if rule.matches(dnis, ani, at):
                return rule.queue, f"rule {rule.name}", ""
        route = self.routes.get(dnis)
        if route is None:
            return DEFAULT_QUEUE, "inbound route", ""
        return route.queue, "inbound route", route.flow_at(at)

    def greeting(self, queue: str, category: str) -> str:
        """The queue's greeting for this caller category, else its default one, else ""."""
        greetings = self.greetings.get(queue) or {}
        return str(greetings.get(category) or greetings.get("default") or "")


def queue_of_flow(graph: Mapping[str, object] | None) -> str:
    """The queue a published flow's graph sends callers to (its first enter-queue node that
    names one), else the default queue."""
    nodes = (graph or {}).get("nodes", {})
    if isinstance(nodes, Mapping):
        for node in nodes.values():
            if isinstance(node, Mapping) and node.get("type") == "enter_queue":
                if node.get("queue"):
                    return str(node["queue"])
    return DEFAULT_QUEUE
