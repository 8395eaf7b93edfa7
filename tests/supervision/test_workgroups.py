"""Work groups managed from the wallboard or admin (SV-13): an administrator creates, changes
and deletes groups; a team leader adds and removes active agents in the groups it leads and
nothing else; a malformed or impossible request changes nothing; every attempt is audited."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from agents.models import Agent, WorkGroup
from supervision.models import AuditEntry
from supervision.scope import scope_of
from tests.supervision.conftest import client_for

API = "/api/supervision/work-groups/"
PAGE = "/supervision/work-groups/"


def gid(name: str) -> int:
    return WorkGroup.objects.get(name=name).pk


def groups_now() -> dict[str, tuple]:
    """Every group as stored: description, leaders, queues, agents."""
    return {
        g.name: (
            g.description,
            sorted(g.leaders.values_list("username", flat=True)),
            sorted(g.queues.values_list("name", flat=True)),
            sorted(g.agents.values_list("login_id", flat=True)),
        )
        for g in WorkGroup.objects.all()
    }


def audited() -> list[tuple[str, str, str, str]]:
    rows = AuditEntry.objects.filter(target_kind="work_group").order_by("id")
    return [(e.username, e.action, e.target, e.outcome) for e in rows]


def test_an_administrator_sees_every_group_a_team_leader_those_it_leads(teams):
    _, users = teams
    r = client_for(users["admin"]).get(API)
    assert r.status_code == 200
    assert [(g["name"], g["can_edit"], g["can_manage_members"]) for g in r.json()["groups"]] == [
        ("team 1", True, True),
        ("team 2", True, True),
    ]
    lead = client_for(users["lead1"])
    team1 = {
        "id": gid("team 1"),
        "name": "team 1",
        "description": "",
        "leaders": ["lead1"],
        "queues": ["support"],
        "agents": [{"login_id": "ag1", "name": "Agent 1", "active": True}],
        "can_edit": False,
        "can_manage_members": True,
    }
    assert lead.get(API).json() == {"groups": [team1]}
    assert lead.get(f"{API}{team1['id']}/").json() == team1
    r = lead.get(f"{API}{gid('team 2')}/")
    assert r.status_code == 403 and r.json()["detail"] == "work group team 2 is not one you lead"
    r = client_for(users["agent1"]).get(API)
    assert r.status_code == 403 and "only team leaders and administrators" in r.json()["detail"]
    assert APIClient().get(API).status_code == 403
    assert client_for(users["admin"]).get(f"{API}99999/").status_code == 404


def test_an_administrator_creates_changes_and_deletes_a_group(teams):
    _, users = teams
    admin = client_for(users["admin"])
    r = admin.post(
        API,
        {
            "name": " night shift ",
            "description": "after 22:00",
            "leaders": ["lead2"],
            "queues": ["support", "billing"],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    night = r.json()
    assert (night["name"], night["description"], night["leaders"], night["queues"]) == (
        "night shift",
        "after 22:00",
        ["lead2"],
        ["billing", "support"],
    )
    # its leader sees it at once and now supervises its queues
    lead2_groups = client_for(users["lead2"]).get(API).json()["groups"]
    assert [g["name"] for g in lead2_groups] == ["night shift", "team 2"]
    assert scope_of(users["lead2"]).has_queue("support")

    r = admin.patch(
        f"{API}{night['id']}/",
        {"name": "late shift", "leaders": ["lead1"], "queues": ["billing"]},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert (r.json()["name"], r.json()["leaders"], r.json()["queues"]) == (
        "late shift",
        ["lead1"],
        ["billing"],
    )
    assert not scope_of(users["lead2"]).has_queue("support")
    assert scope_of(users["lead1"]).has_queue("billing")
    r = admin.post(f"{API}{night['id']}/agents/", {"add": ["ag2"]}, format="json")
    assert [a["login_id"] for a in r.json()["agents"]] == ["ag2"]

    assert admin.delete(f"{API}{night['id']}/").status_code == 204
    assert admin.get(f"{API}{night['id']}/").status_code == 404
    assert set(groups_now()) == {"team 1", "team 2"}
    assert Agent.objects.get(login_id="ag2").work_groups.get().name == "team 2"  # agent stays
    assert audited() == [
        ("boss", "work_group_create", "night shift", "ok"),
        ("boss", "work_group_change", "night shift", "ok"),
        ("boss", "work_group_add_agent", "late shift", "ok"),
        ("boss", "work_group_delete", "late shift", "ok"),
    ]
    deleted = AuditEntry.objects.get(action="work_group_delete")
    assert deleted.detail == {"agents": ["ag2"], "leaders": ["lead1"], "queues": ["billing"]}
    assert AuditEntry.objects.get(action="work_group_change").detail["name"] == "late shift"


def test_a_team_leader_adds_and_removes_the_agents_of_its_group(teams):
    """It adds the agents of its other groups (another team's: tests/security)."""
    _, users = teams
    late = WorkGroup.objects.create(name="late shift")  # lead1's second group, with ag3
    late.leaders.add(users["lead1"])
    Agent.objects.create(login_id="ag3", name="Agent 3", phone_bar_password="x").work_groups.add(
        late
    )
    lead = client_for(users["lead1"])
    url = f"{API}{gid('team 1')}/agents/"
    r = lead.post(url, {"add": ["ag3"]}, format="json")
    assert r.status_code == 200, r.content
    assert [a["login_id"] for a in r.json()["agents"]] == ["ag1", "ag3"]
    r = lead.post(url, {"remove": ["ag1"]}, format="json")
    assert [a["login_id"] for a in r.json()["agents"]] == ["ag3"]
    assert not scope_of(users["lead1"]).has_agent("ag1")  # it no longer supervises ag1
    assert groups_now()["late shift"][3] == ["ag3"]  # still in its other group too
    rows = AuditEntry.objects.filter(target_kind="work_group").order_by("id")
    assert [(e.username, e.role, e.action, e.target, e.outcome, e.detail) for e in rows] == [
        ("lead1", "team_leader", "work_group_add_agent", "team 1", "ok", {"agents": ["ag3"]}),
        ("lead1", "team_leader", "work_group_remove_agent", "team 1", "ok", {"agents": ["ag1"]}),
    ]


def test_a_team_leader_is_refused_a_group_it_does_not_lead(teams):
    _, users = teams
    lead = client_for(users["lead1"])
    team2 = gid("team 2")
    before = groups_now()
    r = lead.post(f"{API}{team2}/agents/", {"add": ["ag1"], "remove": ["ag2"]}, format="json")
    assert r.status_code == 403 and r.json()["detail"] == "work group team 2 is not one you lead"
    assert lead.patch(f"{API}{team2}/", {"description": "mine"}, format="json").status_code == 403
    assert lead.delete(f"{API}{team2}/").status_code == 403
    assert groups_now() == before
    assert audited() == [
        ("lead1", "work_group_add_agent", "team 2", "refused"),
        ("lead1", "work_group_remove_agent", "team 2", "refused"),
        ("lead1", "work_group_change", "team 2", "refused"),
        ("lead1", "work_group_delete", "team 2", "refused"),
    ]
    add = AuditEntry.objects.get(action="work_group_add_agent")
    assert add.detail == {"agents": ["ag1"], "why": "work group team 2 is not one you lead"}


def test_a_team_leader_may_not_change_queues_leaders_or_name_nor_create_or_delete(teams):
    _, users = teams
    lead = client_for(users["lead1"])
    team1 = f"{API}{gid('team 1')}/"
    before = groups_now()
    r = lead.patch(team1, {"queues": ["support", "billing"]}, format="json")
    assert r.status_code == 403
    assert r.json()["detail"].startswith(
        "only an administrator may rename a work group or change its leaders or queues"
    )
    assert not scope_of(users["lead1"]).has_queue("billing")
    assert lead.patch(team1, {"leaders": ["lead1", "lead2"]}, format="json").status_code == 403
    assert lead.patch(team1, {"name": "best team"}, format="json").status_code == 403
    r = lead.post(API, {"name": "my own team"}, format="json")
    assert r.status_code == 403 and "only an administrator may create" in r.json()["detail"]
    r = lead.delete(team1)
    assert r.status_code == 403 and "only an administrator may delete" in r.json()["detail"]
    assert groups_now() == before
    assert audited() == [
        *[("lead1", "work_group_change", "team 1", "refused")] * 3,
        ("lead1", "work_group_create", "my own team", "refused"),
        ("lead1", "work_group_delete", "team 1", "refused"),
    ]
    queues = AuditEntry.objects.filter(action="work_group_change").order_by("id").first()
    assert queues.detail["queues"] == ["support", "billing"] and queues.role == "team_leader"


def test_only_an_administrator_moves_an_inactive_agent(teams):
    _, users = teams
    Agent.objects.create(login_id="ag3", name="Agent 3", phone_bar_password="x", active=False)
    url = f"{API}{gid('team 1')}/agents/"
    r = client_for(users["lead1"]).post(url, {"add": ["ag2", "ag3"]}, format="json")
    assert r.status_code == 403 and "agent ag3 is not active" in r.json()["detail"]
    assert groups_now()["team 1"][3] == ["ag1"]  # not even ag2
    r = client_for(users["admin"]).post(url, {"add": ["ag3"]}, format="json")
    assert r.status_code == 200
    assert {"login_id": "ag3", "name": "Agent 3", "active": False} in r.json()["agents"]
    r = client_for(users["lead1"]).post(url, {"remove": ["ag3"]}, format="json")
    assert r.status_code == 403 and groups_now()["team 1"][3] == ["ag1", "ag3"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1], "send a JSON object"),
        ("ag2", "send a JSON object"),
        ({"add": "ag2"}, "add is a list of strings"),
        ({"add": ["ag2"], "remove": [2]}, "remove is a list of strings"),
        ({}, "give agents to add or remove"),
        ({"add": ["ag2"], "agents": ["ag2"]}, "unknown field agents"),
        ({"add": ["ag2", "ag9", "zz"]}, "no agent with ID ag9, zz"),
        ({"add": ["ag2"], "remove": ["ag1", "nobody"]}, "no agent with ID nobody"),
        ({"add": ["ag2"], "remove": ["ag2"]}, "not both: ag2"),
    ],
)
def test_a_malformed_member_change_is_refused_whole(teams, body, message):
    _, users = teams
    before = groups_now()
    r = client_for(users["lead1"]).post(f"{API}{gid('team 1')}/agents/", body, format="json")
    assert r.status_code == 400 and message in r.json()["detail"], r.content
    assert groups_now() == before


def test_a_body_that_is_not_json_is_refused(teams):
    _, users = teams
    before = groups_now()
    r = client_for(users["admin"]).post(
        f"{API}{gid('team 1')}/agents/", '{"add": ["ag2"', content_type="application/json"
    )
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    assert groups_now() == before


@pytest.mark.parametrize(
    ("method", "body", "message"),
    [
        ("post", ["team 3"], "send a JSON object"),
        ("post", {"description": "no name"}, "a new work group needs a name"),
        ("post", {"name": "  "}, "a work group needs a name"),
        ("post", {"name": "Team 1"}, "there is already a work group 'team 1'"),
        ("post", {"name": "team 3", "queues": ["support", "nowhere"]}, "no queue named nowhere"),
        ("post", {"name": "team 3", "leaders": ["lead1", "ghost"]}, "no active user named ghost"),
        ("post", {"name": "team 3", "queues": "support"}, "queues is a list of strings"),
        ("patch", {}, "nothing to change"),
        ("patch", {"name": "team 2"}, "there is already a work group 'team 2'"),
        ("patch", {"name": "renamed", "queues": ["billing", "nowhere"]}, "no queue named nowhere"),
        ("patch", {"name": 7}, "name is a string"),
        ("patch", {"agents": ["ag2"]}, "unknown field agents"),
        ("patch", {"name": "x" * 101}, "at most 100 characters"),
    ],
)
def test_a_malformed_group_change_is_refused_whole(teams, method, body, message):
    _, users = teams
    before = groups_now()
    url = API if method == "post" else f"{API}{gid('team 1')}/"
    r = getattr(client_for(users["admin"]), method)(url, body, format="json")
    assert r.status_code == 400 and message in r.json()["detail"], r.content
    assert groups_now() == before


def test_an_impossible_change_is_audited_with_the_reason(teams):
    _, users = teams
    r = client_for(users["admin"]).patch(
        f"{API}{gid('team 1')}/", {"name": "renamed", "queues": ["nowhere"]}, format="json"
    )
    assert r.status_code == 400
    entry = AuditEntry.objects.get(target_kind="work_group")
    assert (entry.action, entry.target, entry.outcome) == ("work_group_change", "team 1", "refused")
    assert entry.detail == {
        "name": "renamed",
        "queues": ["nowhere"],
        "why": "no queue named nowhere",
    }


def test_the_page_shows_a_team_leader_its_groups_and_the_member_controls(teams, client):
    _, users = teams
    Agent.objects.create(login_id="ag3", name="Agent 3", phone_bar_password="x", active=False)
    client.force_login(users["lead1"])
    r = client.get(PAGE)
    assert r.status_code == 200
    page = r.content.decode()
    assert "team 1" in page and "team 2" not in page
    assert "Agent 1" in page and 'data-action="remove-agent" data-agent="ag1"' in page
    assert 'value="ag2"' not in page  # another team's agent: not its to take
    assert '<option value="ag1">' not in page  # already in the group
    assert 'value="ag3"' not in page  # inactive: not offered
    assert 'id="create-group"' not in page
    assert 'data-action="edit"' not in page and 'data-action="delete"' not in page
    assert '<script src="/static/supervision/workgroups.js">' in page
    assert client.get("/static/supervision/workgroups.js").status_code == 200
    WorkGroup.objects.get(name="team 2").leaders.add(users["lead1"])  # now it leads both
    page = client.get(PAGE).content.decode()
    assert '<option value="ag2">ag2 Agent 2</option>' in page  # an agent it may add


def test_the_page_gives_an_administrator_every_group_and_the_group_controls(teams, client):
    _, users = teams
    client.force_login(users["admin"])
    page = client.get(PAGE).content.decode()
    assert "team 1" in page and "team 2" in page and 'id="create-group"' in page
    assert page.count('data-action="delete"') == 2
    assert '<option value="billing">billing</option>' in page  # queues to set
    client.force_login(users["agent1"])
    assert client.get(PAGE).status_code == 403
    client.logout()
    assert client.get(PAGE).status_code == 302  # to the sign-in page


def test_the_page_s_csrf_cookie_lets_its_script_change_members(teams):
    """What workgroups.js does: read the csrftoken cookie the page set, send it back."""
    _, users = teams
    WorkGroup.objects.get(name="team 2").leaders.add(users["lead1"])  # ag2's leader too
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users["lead1"])
    browser.get(PAGE)
    url = f"{API}{gid('team 1')}/agents/"
    assert browser.post(url, {"add": ["ag2"]}, content_type="application/json").status_code == 403
    token = browser.cookies["csrftoken"].value
    r = browser.post(
        url, {"add": ["ag2"]}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert r.status_code == 200 and groups_now()["team 1"][3] == ["ag1", "ag2"]


def test_team_leaders_cannot_bypass_the_rules_in_the_admin(teams):
    """The admin would let a team leader change any group's leaders and queues, unaudited:
    the migration takes `change_workgroup` from the role that 0002 granted it to."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    roles = importlib.import_module("supervision.migrations.0002_roles")
    fix = importlib.import_module(
        "supervision.migrations.0004_leaders_change_work_groups_in_the_app"
    )
    leaders = Group.objects.get(name="Team leaders")
    for app, code in roles.TEAM_LEADER_PERMS:  # the role as 0002 made it
        leaders.permissions.add(Permission.objects.get(content_type__app_label=app, codename=code))
    fix.forwards(apps, None)
    _, users = teams
    lead = type(users["lead1"]).objects.get(pk=users["lead1"].pk)  # fresh permission cache
    assert lead.has_perm("agents.view_workgroup")
    assert not lead.has_perm("agents.change_workgroup")
