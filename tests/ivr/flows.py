"""Test doubles for the pure interpreter: flows held in memory, services with set answers."""

from __future__ import annotations

import copy


class MemoryFlows:
    """A FlowSource: every publish adds a version; old versions stay readable."""

    def __init__(self, graphs: dict) -> None:
        self.versions: dict[str, list[dict]] = {}
        for name, graph in graphs.items():
            self.publish(name, graph)

    def publish(self, name: str, graph: dict) -> int:
        self.versions.setdefault(name, []).append(copy.deepcopy(graph))
        return len(self.versions[name])

    def graph(self, flow: str, version: int) -> dict:
        return self.versions[flow][version - 1]

    def published(self, flow: str):
        if flow not in self.versions:
            return None
        return len(self.versions[flow]), self.versions[flow][-1]


class StubServices:
    """Look-ups answered from dictionaries; `fail=True` makes every look-up time out."""

    def __init__(self, lookups=None, icm=None, schedules=None, fail=False) -> None:
        self.lookups = lookups or {}
        self.icm = icm or {}
        self.schedules = schedules or {}
        self.fail = fail
        self.lookup_calls: list = []

    def lookup(self, connector, params):
        self.lookup_calls.append((connector, dict(params)))
        if self.fail:
            raise TimeoutError("connector timed out")
        return self.lookups.get(next(iter(params.values()), None), {})

    def icm_value(self, metric, queue):
        return self.icm[(metric, queue)]

    def schedule_open(self, schedule):
        return self.schedules[schedule]
