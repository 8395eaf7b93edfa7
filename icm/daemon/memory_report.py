"""icm's memory and dispatch report on demand (the soak bench's probe; issue 21 finding 5).

Enabled by IPBX_ICM_REPORT=<path> (`manage.py icm` installs it; nothing runs otherwise):
- SIGUSR1 writes a full report to <path> as JSON: resident memory, the largest containers
  reachable from the service (path → length: what the daemon keeps, found by walking its
  attributes), object counts by type and, with IPBX_ICM_TRACEMALLOC=1 (costly: started
  before the service), the allocation sites that grew since the last report;
- SIGUSR2 writes only resident memory and the dispatch latencies measured since the last
  report (which it clears: the ACD keeps a bounded window of them).

Each report carries a `seq` that grows by one, so a reader knows when the one it asked for
is written (the file is replaced whole).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import tracemalloc
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent

log = logging.getLogger(__name__)
CONTAINERS = (dict, list, set, frozenset, deque)
SKIPPED = (type, type(os), type(len), type(lambda: 0), gevent.Greenlet)
DEPTH = 6


def rss_kb(pid: int | str = "self") -> int:
    """Resident memory of a process in KiB (VmRSS; 0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def containers(root: object, depth: int = DEPTH) -> dict[str, int]:
    """Every container reachable from `root` through attributes, dict values and container
    items (each object once, `depth` steps at most): its first path → its length."""
    found: dict[str, int] = {}
    seen: set[int] = set()
    stack: list[tuple[str, object, int]] = [("service", root, 0)]
    while stack:
        path, obj, level = stack.pop()
        if id(obj) in seen or isinstance(obj, SKIPPED) or obj is None:
            continue
        seen.add(id(obj))
        if isinstance(obj, str | bytes | int | float | bool):
            continue
        if isinstance(obj, CONTAINERS):
            found[path] = len(obj)
        if level >= depth:
            continue
        for name, child in _children(obj):
            stack.append((f"{path}{name}", child, level + 1))
    return found


def _children(obj: object) -> Iterator[tuple[str, object]]:
    if isinstance(obj, dict):
        items = list(obj.items())
        for key, value in items[:3]:  # a map's values are alike: a few stand for all
            yield f"[{str(key)[:20]!r}]", value
        return
    if isinstance(obj, list | set | frozenset | deque | tuple):
        for n, value in enumerate(list(obj)[:3]):
            yield f"[{n}]", value
        return
    names = dict(getattr(obj, "__dict__", {}) or {})
    for slot in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, slot):
            names[slot] = getattr(obj, slot)
    for name, value in names.items():
        yield f".{name}", value


class MemoryReport:
    """Writes the reports of one service to `path` when signalled (see the module's text)."""

    def __init__(self, service: Any, path: str, top: int = 60) -> None:
        self.service = service
        self.path = Path(path)
        self.top = top
        self.seq = 0
        self._snapshot: tracemalloc.Snapshot | None = None

    def install(self) -> None:
        gevent.signal_handler(signal.SIGUSR1, self.full)
        gevent.signal_handler(signal.SIGUSR2, self.latencies)

    def latencies(self) -> dict[str, Any]:
        window = self.service.acd.dispatch_latencies
        taken = [round(s * 1000, 3) for s in window]
        window.clear()
        return self._write({"dispatch_ms": taken, "backlog": self.backlog()})

    def backlog(self) -> dict[str, int]:
        """Work waiting (not kept for ever, but memory while it waits): the inbox's items,
        the outbox's rows not yet in the database, the facts not yet in the outbox."""
        service = self.service
        return {
            "inbox": len(service.inbox),
            "outbox": service.outbox.pending(),
            "facts": len(service.facts.out),
        }

    def full(self) -> dict[str, Any]:
        gc.collect()
        sizes = containers(self.service)
        largest = sorted(sizes.items(), key=lambda item: -item[1])[: self.top]
        types = Counter(type(o).__name__ for o in gc.get_objects())
        report: dict[str, Any] = {
            "containers": dict(largest),
            "types": dict(types.most_common(self.top)),
            "gc_objects": sum(types.values()),
            "backlog": self.backlog(),
        }
        if tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot()
            if self._snapshot is not None:
                diff = snapshot.compare_to(self._snapshot, "lineno")[: self.top]
                report["grown"] = [str(stat) for stat in diff]
            self._snapshot = snapshot
        return self._write(report)

    def _write(self, report: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        report = {"seq": self.seq, "rss_kb": rss_kb(), **report}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report))
        tmp.replace(self.path)
        return report


def install_from_environment(service: Any) -> MemoryReport | None:
    """The report when IPBX_ICM_REPORT names a file (else None: nothing installed)."""
    path = os.environ.get("IPBX_ICM_REPORT", "")
    if not path:
        return None
    report = MemoryReport(service, path)
    report.install()
    log.info("icm: memory report on SIGUSR1 / SIGUSR2 to %s", path)
    return report


def start_tracing_from_environment() -> None:
    """tracemalloc from the start (IPBX_ICM_TRACEMALLOC=1): before the service is built."""
    if os.environ.get("IPBX_ICM_TRACEMALLOC") == "1":
        tracemalloc.start(1)
