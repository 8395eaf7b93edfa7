"""Work groups (SV-13): which groups a user sees, and the changes each role may make to them.

An administrator creates, renames and deletes groups and sets their leaders (users) and
queues; it also adds and removes agents. A team leader only adds and removes *active* agents
in the groups it leads, and adds only agents already in one of them: bringing an agent into
a team (and with it the monitoring, recording and past recordings of that agent) is an
administrator's act, or that of a leader of the agent's group who also leads the team — one
leader cannot take another's agent. Every attempt — done or refused — is audited
(`work_group_create`, `work_group_change`, `work_group_delete`, `work_group_add_agent`,
`work_group_remove_agent`; the target is the group's name, the agents, leaders or queues are
in the detail).

Checks come first and write nothing but the refusal's audit entry; the change itself and its
audit entries are one transaction, so a request is applied whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from agents.models import Agent, WorkGroup
from icm.models import Queue
from supervision.actions import SupervisionRefused, UnknownTarget, audit
from supervision.models import AuditEntry
from supervision.roles import ADMINISTRATOR, TEAM_LEADER, role_of
from supervision.scope import scope_of

CREATE, CHANGE, DELETE = "work_group_create", "work_group_change", "work_group_delete"
ADD_AGENT, REMOVE_AGENT = "work_group_add_agent", "work_group_remove_agent"
ACTIONS = (CREATE, CHANGE, DELETE, ADD_AGENT, REMOVE_AGENT)
NAME_MAX = WorkGroup._meta.get_field("name").max_length or 100
DESCRIPTION_MAX = WorkGroup._meta.get_field("description").max_length or 200
KIND = "work_group"


class WorkGroupInvalid(ValueError):
    """A change that cannot be made as asked (name taken, unknown agent …); the message says
    what to correct."""


# --- seeing -------------------------------------------------------------------------------
def visible_groups(user: Any) -> QuerySet[WorkGroup]:
    """The groups `user` sees: every one for an administrator, those it leads for a team
    leader; anyone else is refused."""
    role = role_of(user)
    if role == ADMINISTRATOR:
        groups = WorkGroup.objects.all()
    elif role == TEAM_LEADER:
        groups = WorkGroup.objects.filter(leaders=user)
    else:
        raise SupervisionRefused("only team leaders and administrators see work groups")
    return groups.prefetch_related("leaders", "queues", "agents").order_by("name")


def described_groups(user: Any) -> list[dict[str, Any]]:
    """`visible_groups` as the API and the page show them."""
    role = role_of(user)
    return [describe(group, user, role) for group in visible_groups(user)]


def access_group(user: Any, group_id: int) -> WorkGroup:
    """One group `user` may see (404 when there is none, refused when it is not its own)."""
    role = role_of(user)
    if role not in (ADMINISTRATOR, TEAM_LEADER):
        raise SupervisionRefused("only team leaders and administrators see work groups")
    group = _group(group_id)
    if role == TEAM_LEADER and not _leads(user, group):
        raise SupervisionRefused(f"work group {group.name} is not one you lead")
    return group


def describe(group: WorkGroup, user: Any, role: str | None = None) -> dict[str, Any]:
    """The group as the API and the page show it, with what `user` may do to it."""
    role = role_of(user) if role is None else role
    return {
        "id": group.pk,
        "name": group.name,
        "description": group.description,
        "leaders": sorted(u.get_username() for u in group.leaders.all()),
        "queues": sorted(q.name for q in group.queues.all()),
        "agents": [
            {"login_id": a.login_id, "name": a.name, "active": a.active}
            for a in sorted(group.agents.all(), key=lambda a: a.login_id)
        ],
        "can_edit": role == ADMINISTRATOR,
        "can_manage_members": role == ADMINISTRATOR
        or (role == TEAM_LEADER and _leads(user, group)),
    }


# --- an administrator's changes -----------------------------------------------------------
def create_group(
    user: Any,
    name: str,
    description: str = "",
    leaders: Iterable[str] = (),
    queues: Iterable[str] = (),
    address: str | None = None,
) -> WorkGroup:
    """Create a work group with its leaders (usernames) and queues (names)."""
    role = role_of(user)
    name, description = (name or "").strip(), (description or "").strip()
    leaders, queues = _unique(leaders), _unique(queues)
    detail: dict[str, Any] = {"description": description, "leaders": leaders, "queues": queues}
    with _refusals_audited(user, role, name, [(CREATE, detail)], address):
        if role != ADMINISTRATOR:
            raise SupervisionRefused("only an administrator may create a work group")
        _check_name(name)
        _check_description(description)
        users, found_queues = _users(leaders), _queues(queues)
        with transaction.atomic():
            try:
                group = WorkGroup.objects.create(name=name, description=description)
            except IntegrityError as exc:  # created by someone else since _check_name
                raise WorkGroupInvalid(f"there is already a work group {name!r}") from exc
            group.leaders.set(users)
            group.queues.set(found_queues)
            audit(user, role, CREATE, KIND, name, AuditEntry.Outcome.OK, detail, address)
    return group


def change_group(
    user: Any,
    group_id: int,
    name: str | None = None,
    description: str | None = None,
    leaders: Iterable[str] | None = None,
    queues: Iterable[str] | None = None,
    address: str | None = None,
) -> WorkGroup:
    """Rename a group, change its description, or set its leaders or queues (None: keep).
    The audit entry's target is the name the group had."""
    role = role_of(user)
    group = _group(group_id)
    detail: dict[str, Any] = {}
    if name is not None:
        detail["name"] = name = name.strip()
    if description is not None:
        detail["description"] = description = description.strip()
    if leaders is not None:
        detail["leaders"] = leaders = _unique(leaders)
    if queues is not None:
        detail["queues"] = queues = _unique(queues)
    with _refusals_audited(user, role, group.name, [(CHANGE, detail)], address):
        if role != ADMINISTRATOR:
            raise SupervisionRefused(
                "only an administrator may rename a work group or change its leaders or "
                "queues; a team leader adds and removes the agents of the groups it leads"
            )
        if not detail:
            raise WorkGroupInvalid("nothing to change: give a name, description, leaders or queues")
        if name is not None:
            _check_name(name, but=group.pk)
        if description is not None:
            _check_description(description)
        users = _users(leaders) if leaders is not None else None
        found_queues = _queues(queues) if queues is not None else None
        with transaction.atomic():
            locked = _locked(group.pk)
            locked.name = locked.name if name is None else name
            locked.description = locked.description if description is None else description
            try:
                locked.save()
            except IntegrityError as exc:  # renamed to the same name by someone else
                raise WorkGroupInvalid(f"there is already a work group {name!r}") from exc
            if users is not None:
                locked.leaders.set(users)
            if found_queues is not None:
                locked.queues.set(found_queues)
            audit(user, role, CHANGE, KIND, group.name, AuditEntry.Outcome.OK, detail, address)
    return locked


def delete_group(user: Any, group_id: int, address: str | None = None) -> None:
    """Delete a group; its agents, leaders and queues stay (they only leave the group). The
    audit entry keeps who and what was in it."""
    role = role_of(user)
    group = _group(group_id)
    with _refusals_audited(user, role, group.name, [(DELETE, {})], address):
        if role != ADMINISTRATOR:
            raise SupervisionRefused("only an administrator may delete a work group")
        with transaction.atomic():
            locked = _locked(group.pk)
            detail = {
                "agents": sorted(locked.agents.values_list("login_id", flat=True)),
                "leaders": sorted(locked.leaders.values_list("username", flat=True)),
                "queues": sorted(locked.queues.values_list("name", flat=True)),
            }
            locked.delete()
            audit(user, role, DELETE, KIND, group.name, AuditEntry.Outcome.OK, detail, address)


# --- members: administrators and the group's team leaders ---------------------------------
def change_members(
    user: Any,
    group_id: int,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    address: str | None = None,
) -> WorkGroup:
    """Add and remove agents (by login ID) in one go, all or nothing. A team leader: only in a
    group it leads, only active agents. One audit entry for the additions, one for the
    removals."""
    role = role_of(user)
    group = _group(group_id)
    add, remove = _unique(add), _unique(remove)
    asked = [
        (action, {"agents": ids})
        for action, ids in ((ADD_AGENT, add), (REMOVE_AGENT, remove))
        if ids
    ]
    with _refusals_audited(user, role, group.name, asked, address):
        if role not in (ADMINISTRATOR, TEAM_LEADER):
            raise SupervisionRefused("only team leaders and administrators change work groups")
        if role == TEAM_LEADER and not _leads(user, group):
            raise SupervisionRefused(f"work group {group.name} is not one you lead")
        if not asked:
            raise WorkGroupInvalid("give agents to add or remove")
        both = sorted(set(add) & set(remove))
        if both:
            raise WorkGroupInvalid(f"add or remove, not both: {', '.join(both)}")
        agents = {a.login_id: a for a in Agent.objects.filter(login_id__in=[*add, *remove])}
        unknown = [login_id for login_id in (*add, *remove) if login_id not in agents]
        if unknown:
            raise WorkGroupInvalid(f"no agent with ID {', '.join(unknown)}")
        inactive = sorted(login_id for login_id, agent in agents.items() if not agent.active)
        if role == TEAM_LEADER and inactive:
            raise SupervisionRefused(
                f"agent {', '.join(inactive)} is not active; only an administrator may change "
                "the work groups of an inactive agent"
            )
        if role == TEAM_LEADER:
            mine = scope_of(user)
            outside = [i for i in add if not mine.has_agent(i)]
            if outside:
                raise SupervisionRefused(
                    f"agent {', '.join(outside)} is not in a work group you lead; only an "
                    "administrator (or a leader of its group who also leads this one) may "
                    "bring an agent into a team"
                )
    with transaction.atomic():
        locked = _locked(group.pk)
        members = set(locked.agents.values_list("login_id", flat=True))
        added = [i for i in add if i not in members]
        removed = [i for i in remove if i in members]
        locked.agents.add(*(agents[i] for i in added))
        locked.agents.remove(*(agents[i] for i in removed))
        for action, ids, done in ((ADD_AGENT, add, added), (REMOVE_AGENT, remove, removed)):
            if ids:
                detail: dict[str, Any] = {"agents": done}
                if len(done) < len(ids):  # already in (or not in) the group: nothing to do
                    detail["unchanged"] = [i for i in ids if i not in done]
                audit(user, role, action, KIND, group.name, AuditEntry.Outcome.OK, detail, address)
    return locked


def addable_agents(user: Any) -> list[dict[str, str]]:
    """The active agents `user` may add to the groups it manages ({login_id, name}): every
    one for an administrator; for a team leader, those already in a group it leads."""
    agents = Agent.objects.filter(active=True).order_by("login_id")
    scope = scope_of(user)
    if scope.role != ADMINISTRATOR:
        agents = agents.filter(login_id__in=scope.agents)
    return list(agents.values("login_id", "name"))


# --- helpers -------------------------------------------------------------------------------
@contextmanager
def _refusals_audited(
    user: Any,
    role: str,
    target: str,
    entries: list[tuple[str, dict[str, Any]]],
    address: str | None,
) -> Iterator[None]:
    """Write a refused entry per (action, detail) when the block refuses; the block's own
    transactions have rolled back by then, so the entries stay."""
    try:
        yield
    except (SupervisionRefused, WorkGroupInvalid) as exc:
        for action, detail in entries:
            audit(
                user,
                role,
                action,
                KIND,
                target,
                AuditEntry.Outcome.REFUSED,
                {**detail, "why": str(exc)},
                address,
            )
        raise


def _group(group_id: int) -> WorkGroup:
    group = WorkGroup.objects.filter(pk=group_id).prefetch_related("leaders").first()
    if group is None:
        raise UnknownTarget(f"there is no work group {group_id}")
    return group


def _locked(group_id: int) -> WorkGroup:
    group = WorkGroup.objects.select_for_update().filter(pk=group_id).first()
    if group is None:  # deleted since it was read
        raise UnknownTarget(f"there is no work group {group_id}")
    return group


def _leads(user: Any, group: WorkGroup) -> bool:
    return any(leader.pk == user.pk for leader in group.leaders.all())


def _unique(values: Iterable[str]) -> list[str]:
    """Stripped, without blanks or repeats, in the order given."""
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _check_name(name: str, but: int | None = None) -> None:
    if not name:
        raise WorkGroupInvalid("a work group needs a name")
    if len(name) > NAME_MAX:
        raise WorkGroupInvalid(f"a work group's name has at most {NAME_MAX} characters")
    taken = WorkGroup.objects.filter(name__iexact=name).exclude(pk=but).first()
    if taken is not None:  # names differing only in case would be told apart by nobody
        raise WorkGroupInvalid(f"there is already a work group {taken.name!r}")


def _check_description(description: str) -> None:
    if len(description) > DESCRIPTION_MAX:
        raise WorkGroupInvalid(f"a description has at most {DESCRIPTION_MAX} characters")


def _users(usernames: list[str]) -> list[Any]:
    users = {
        u.get_username(): u
        for u in get_user_model().objects.filter(username__in=usernames, is_active=True)
    }
    unknown = [name for name in usernames if name not in users]
    if unknown:
        raise WorkGroupInvalid(f"no active user named {', '.join(unknown)}")
    return list(users.values())


def _queues(names: list[str]) -> list[Queue]:
    queues = {q.name: q for q in Queue.objects.filter(name__in=names)}
    unknown = [name for name in names if name not in queues]
    if unknown:
        raise WorkGroupInvalid(f"no queue named {', '.join(unknown)}")
    return list(queues.values())
