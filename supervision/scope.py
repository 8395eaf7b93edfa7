"""What a team leader sees and acts on (ICM-8): the agents of the work groups it leads and
the queues assigned to those groups. Administrators see everything; agents nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.models import Agent
from icm.models import Queue
from supervision.roles import ADMINISTRATOR, TEAM_LEADER, role_of


@dataclass(frozen=True)
class Scope:
    role: str
    everything: bool
    agents: frozenset[str]  # agent login IDs
    queues: frozenset[str]  # queue names

    def has_agent(self, login_id: str) -> bool:
        return self.everything or login_id in self.agents

    def has_queue(self, name: str) -> bool:
        return self.everything or name in self.queues


def scope_of(user: Any) -> Scope:
    role = role_of(user)
    if role == ADMINISTRATOR:
        return Scope(role, True, frozenset(), frozenset())
    if role != TEAM_LEADER:
        return Scope(role, False, frozenset(), frozenset())
    groups = user.led_work_groups.all()
    agents = Agent.objects.filter(work_groups__in=groups).values_list("login_id", flat=True)
    queues = Queue.objects.filter(work_groups__in=groups).values_list("name", flat=True)
    return Scope(role, False, frozenset(agents), frozenset(queues))
