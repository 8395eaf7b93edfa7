"""What icm computes for the wallboard (SV-2): each queue's tile — live counts from the ACD
and today's figures — each agent's day and connected party, and the alarms.

The tiles are published when they change (looked at every TICK s), never on a timer only:
a call arriving or answered shows on the wallboards within the same second. The longest
wait ticks by itself on the page (from `oldest_since`), so it does not count as a change.

Called from icm's greenlets: gevent switches only at I/O, never inside these reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from icm.daemon.acd.queue_figures import QueueFigures
from icm.domain.acd.day_figures import DayFigures
from icm.domain.acd.model import AgentState
from icm.domain.alarms import AlarmBook, AlarmChange, QueueAlarmLimits, current_alarms

TICK = 0.25  # s between looks for changed tiles
UNCOMPARED = ("longest_wait", "expected_wait")  # they move with the clock alone


class LiveFigures:
    def __init__(
        self,
        queue_figures: QueueFigures,
        day: DayFigures,
        party_of: Callable[[str], dict[str, str] | None],
    ) -> None:
        self.queue_figures = queue_figures
        self.acd = queue_figures.acd
        self.day = day
        self.party_of = party_of
        self.limits: dict[str, QueueAlarmLimits] = {}
        self.not_ready_limit: float | None = None
        self.alarms = AlarmBook()
        self.gateways: dict[str, tuple[str, str]] = {}  # name -> (state, ping status)
        # since when icm's writes fail (None: they do not) and the rows kept: Outbox.health
        self.database: Callable[[], tuple[float | None, int]] = lambda: (None, 0)
        self._published: dict[str, dict[str, Any]] = {}

    def tiles(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        """Every queue's tile: live figures, agents per state, today's figures."""
        now = time.time() if now is None else now
        tiles = self.queue_figures.all_queues()
        for name, tile in tiles.items():
            by_state = {str(s): 0 for s in AgentState if s is not AgentState.LOGGED_OUT}
            for agent_id in self.acd.members.get(name, ()):
                agent = self.acd.agents.get(agent_id)
                if agent is not None and agent.state is not AgentState.LOGGED_OUT:
                    by_state[str(agent.state)] += 1
            callers = tile.get("callers") or []
            today = self.day.queue(name, now)
            policy = self.acd.policies[name]
            limit = self.limits.get(name) or QueueAlarmLimits()
            tile.update(
                agents=by_state,
                oldest_since=min((c["since"] for c in callers), default=None),
                offered=today["finished"] + int(tile["waiting"]),
                sl_seconds=policy.service_level_seconds,
                sl_target=limit.sl_target,
                alarm_waiting=limit.waiting,
                alarm_wait_seconds=limit.wait_seconds,
                **today,
            )
        return tiles

    def changed_tiles(self, tiles: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The tiles that differ from the last published ones (and remember these)."""
        changed = {}
        for name, tile in tiles.items():
            compared = {k: v for k, v in tile.items() if k not in UNCOMPARED}
            if self._published.get(name) != compared:
                changed[name] = tile
                self._published[name] = compared
        for gone in set(self._published) - set(tiles):
            del self._published[gone]
        return changed

    def agent_view(self, agent_id: str, now: float | None = None) -> dict[str, Any]:
        """What the wallboard's grid adds to an agent's state: its day and its party."""
        now = time.time() if now is None else now
        return {"today": self.day.agent(agent_id, now), "party": self.party_of(agent_id)}

    def alarm_changes(
        self, tiles: dict[str, dict[str, Any]], switch_connected: bool, now: float | None = None
    ) -> list[AlarmChange]:
        now = time.time() if now is None else now
        agents = {
            a.agent_id: (str(a.state), a.state_since, a.reason) for a in self.acd.agents.values()
        }
        found = current_alarms(
            tiles,
            self.limits,
            agents,
            switch_connected,
            self.not_ready_limit,
            now,
            self.gateways,
            self.database(),
        )
        return self.alarms.update(found, now)
