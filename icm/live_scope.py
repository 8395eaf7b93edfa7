"""The live calls a user sees (ICM-2 within ICM-8's scope): `/api/live/`'s snapshot and
`/ws/live/`'s stream, filtered for a team leader to the calls of its work groups' queues and
agents (`supervision.scope.calls_scope`); an administrator sees everything unchanged.

The socket (`icm.consumers`, the live protocol of `icm.live_socket`) numbers its own frames;
a scoped stream still keeps every bus number of a switch visible. An event the user may not
see becomes a bare `{"type": "skip", "switch", "seq"}` (nothing of the call, agent or queue
it was about); a call that leaves the user's scope (moved to another team's queue) while the
page may show it becomes `{"type": "call.hidden", "call": {"switch", "call_uuid"}}`, which
removes it from the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from icm.bus.events import EventType, FrameType
from icm.bus.snapshot import SwitchSnapshot
from supervision.scope import Scope

CALL_EVENTS = (EventType.CALL_UPDATED, EventType.CALL_ENDED)
# no call, agent or queue in them
PASSED = (EventType.SWITCH_STATUS, EventType.RESET, FrameType.RESYNC)


def scoped_snapshots(snapshots: Iterable[SwitchSnapshot], scope: Scope) -> list[SwitchSnapshot]:
    """The snapshots with only the calls `scope` sees (seq and switch status unchanged)."""
    if scope.everything:
        return list(snapshots)
    return [{**snap, "calls": [c for c in snap["calls"] if _sees(scope, c)]} for snap in snapshots]


class LiveStream:
    """One socket's filter of bus events. `shown` holds the calls its page may show — those
    of the snapshots it may have read (`seed`) and those sent since — so that only they are
    ever named in a `call.hidden`."""

    def __init__(self, scope: Scope | None = None) -> None:
        self.scope = scope or Scope("", False, frozenset(), frozenset())  # nothing until seeded
        self.shown: set[tuple[str, str]] = set()

    def seed(self, scope: Scope, snapshots: Iterable[SwitchSnapshot]) -> None:
        """A (new) scope and the calls of a fresh snapshot, added to those the page may
        still show."""
        self.scope = scope
        for snap in scoped_snapshots(snapshots, scope):
            self.shown.update((snap["switch"], c["call_uuid"]) for c in snap["calls"])

    def frame(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The event as this socket sends it; None: nothing to send."""
        if self.scope.everything:
            return event
        kind = event.get("type")
        if kind in PASSED:
            return event
        switch, seq = event.get("switch"), event.get("seq")
        if not isinstance(switch, str) or not isinstance(seq, int):
            return None  # not one of a switch's numbered events: nothing the page needs
        call = event.get("call") if kind in CALL_EVENTS else None
        if not isinstance(call, dict):
            return {"type": FrameType.SKIP, "switch": switch, "seq": seq}
        key = (switch, str(call.get("call_uuid", "")))
        if _sees(self.scope, call):
            if kind == EventType.CALL_ENDED:
                self.shown.discard(key)
            else:
                self.shown.add(key)
            return event
        if key in self.shown:
            self.shown.discard(key)
            return {
                "type": FrameType.CALL_HIDDEN,
                "switch": switch,
                "seq": seq,
                "call": {"switch": switch, "call_uuid": key[1]},
            }
        return {"type": FrameType.SKIP, "switch": switch, "seq": seq}


def _sees(scope: Scope, call: dict[str, Any]) -> bool:
    return scope.has_call(str(call.get("queue") or ""), str(call.get("agent") or ""))
