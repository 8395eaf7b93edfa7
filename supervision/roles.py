"""Roles (ICM-8): agent, team leader (supervisor) and administrator, and what each may do.

A user's role: administrator (superuser, or in the "Administrators" group), team leader (in
"Team leaders", or leading a work group), agent (has an agent), else none. Team leaders act
only within their scope (icm: supervision.scope); administrators everywhere.
"""

from __future__ import annotations

from typing import Any

ADMINISTRATOR, TEAM_LEADER, AGENT = "administrator", "team_leader", "agent"
GROUPS = {ADMINISTRATOR: "Administrators", TEAM_LEADER: "Team leaders", AGENT: "Agents"}
# supervisor actions on agents and calls, and the roles allowed each
ACTIONS: dict[str, frozenset[str]] = {
    "force_logout": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-3
    "force_ready": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-11
    "force_not_ready": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-10
    "force_release": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-6
    "monitor": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-4: silent
    "whisper": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-8: only the agent hears
    "barge": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-8: three-way
    "assign_call": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-7: a waiting call to an agent
    "intercept": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-9: the call to the QA desk
    "record": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # SV-5: record an agent
    "listen_browser": frozenset({TEAM_LEADER, ADMINISTRATOR}),  # REC-3: hear it in the browser
}
AGENT_ACTIONS = frozenset(ACTIONS) - {"assign_call"}  # POST /api/supervision/agents/<id>/<…>/
MONITOR_MODES = {"monitor": "listen", "whisper": "whisper", "barge": "barge"}


def role_of(user: Any) -> str:
    if not getattr(user, "is_authenticated", False):
        return ""
    names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser or GROUPS[ADMINISTRATOR] in names:
        return ADMINISTRATOR
    if GROUPS[TEAM_LEADER] in names or user.led_work_groups.exists():
        return TEAM_LEADER
    if hasattr(user, "agent"):
        return AGENT
    return ""


def is_supervisor(user: Any) -> bool:
    """A team leader or an administrator (the wallboard, the catalogue's editing, reports)."""
    return role_of(user) in (ADMINISTRATOR, TEAM_LEADER)


def may(role: str, action: str) -> bool:
    return role in ACTIONS.get(action, frozenset())
