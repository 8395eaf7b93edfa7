"""What a team leader sees and acts on (ICM-8): the agents of the work groups it leads and
the queues assigned to those groups. Administrators see everything; agents nothing.

Calls (live and past, `/api/calls/`, `/api/live/`, `/ws/live/`) follow the same scope once
the user holds `icm.view_call`: a team leader sees the calls of its queues and of its agents
(`calls_scope`, `Scope.has_call`, `calls_filter`); anyone else the permission was granted to
sees every call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

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

    def has_call(self, queue: str | None, agent: str | None) -> bool:
        """A call of one of its queues or handled by one of its agents (a call in the IVR,
        in no queue and with no agent yet, is nobody's but an administrator's)."""
        return self.everything or (queue or "") in self.queues or (agent or "") in self.agents


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


def may_control_agent(user: Any, login_id: str) -> bool:
    """The agent itself, an administrator, a team leader of one of the agent's work groups
    (ICM-8), or another user allowed to change agents."""
    own = getattr(getattr(user, "agent", None), "login_id", None)
    if own == login_id:
        return True
    scope = scope_of(user)
    if scope.role == TEAM_LEADER:
        return scope.has_agent(login_id)
    return scope.role == ADMINISTRATOR or user.has_perm("agents.change_agent")


def calls_scope(user: Any) -> Scope:
    """The calls `user` sees, given it holds `icm.view_call`: a team leader those of its work
    groups' queues and agents; an administrator, or a user the permission was granted to
    outside the roles (an operator), every call."""
    scope = scope_of(user)
    if scope.role == TEAM_LEADER:
        return scope
    return Scope(scope.role, True, frozenset(), frozenset())


def calls_filter(scope: Scope) -> Q:
    """`Scope.has_call` for a query of `icm.Call` rows."""
    if scope.everything:
        return Q()
    return Q(queue__name__in=scope.queues) | Q(agent__login_id__in=scope.agents)
