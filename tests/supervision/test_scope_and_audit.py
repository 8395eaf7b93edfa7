"""Roles, team-leader scope and the audit log (ICM-8), and the controls on agents (SV-3,
SV-10, SV-11): a team leader acts on its work groups' agents only; every attempt is audited;
forced states reach the agent's desktop live."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from icm.bus import keys
from icm.models import Switch
from supervision.models import AuditEntry
from supervision.scope import scope_of
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for


def test_a_team_leader_sees_its_work_groups_only(teams):
    _, users = teams
    scope = scope_of(users["lead1"])
    assert scope.role == "team_leader"
    assert scope.has_agent("ag1") and not scope.has_agent("ag2")
    assert scope.has_queue("support") and not scope.has_queue("billing")
    admin = scope_of(users["admin"])
    assert admin.has_agent("ag2") and admin.has_queue("billing")
    assert scope_of(users["agent1"]).role == "agent"


def test_out_of_scope_and_unauthorised_actions_are_refused_and_audited(teams):
    _, users = teams
    r = client_for(users["lead1"]).post(
        "/api/supervision/agents/ag2/force_not_ready/", {"reason": "meeting"}, format="json"
    )
    assert r.status_code == 403 and "not in your work groups" in r.json()["detail"]
    r = client_for(users["agent1"]).post("/api/supervision/agents/ag1/force_logout/")
    assert r.status_code == 403 and "your role may not" in r.json()["detail"]
    assert APIClient().post("/api/supervision/agents/ag1/force_logout/").status_code == 403
    r = client_for(users["lead1"]).post("/api/supervision/agents/ag1/explode/")
    assert r.status_code == 404
    r = client_for(users["lead1"]).post(
        "/api/supervision/agents/ag1/force_ready/", [1], format="json"
    )
    assert r.status_code == 400
    # the older agent-state API honours the same scope
    r = client_for(users["lead1"]).post(
        "/api/agents/ag2/state/", {"state": "logout"}, format="json"
    )
    assert r.status_code == 403
    refused = AuditEntry.objects.filter(outcome="refused").order_by("id")
    assert [(e.username, e.action, e.target) for e in refused] == [
        ("lead1", "force_not_ready", "ag2"),
        ("agent1", "force_logout", "ag1"),
    ]
    assert refused[0].detail["why"] == "agent ag2 is not in your work groups"


def test_forced_states_reach_the_agent_and_the_audit_log(teams, platform):
    site, users = teams
    Switch.objects.filter(name=platform.switch).update(site=site)
    lead = client_for(users["lead1"])
    bus = redis.Redis.from_url(settings.REDIS_URL)

    def live_state():
        raw = bus.hget(keys.agents_key(platform.switch), "ag1")
        return json.loads(raw)["state"] if raw else "logged_out"

    assert (
        client_for(users["agent1"])
        .post(
            "/api/agents/ag1/state/", {"state": "login", "switch": platform.switch}, format="json"
        )
        .status_code
        == 200
    )
    wait_until(lambda: live_state() == "ready", what="ag1 ready")
    r = lead.post(
        "/api/supervision/agents/ag1/force_not_ready/", {"reason": "meeting"}, format="json"
    )
    assert r.status_code == 200, r.content
    wait_until(lambda: live_state() == "not_ready", what="ag1 forced not ready")
    assert lead.post("/api/supervision/agents/ag1/force_ready/").status_code == 200
    wait_until(lambda: live_state() == "ready", what="ag1 forced ready")
    assert lead.post("/api/supervision/agents/ag1/force_release/").status_code == 409  # no call
    assert lead.post("/api/supervision/agents/ag1/force_logout/").status_code == 200
    wait_until(lambda: live_state() == "logged_out", what="ag1 forced out")

    entries = lead.get("/api/supervision/audit/", {"target": "ag1"}).json()["entries"]
    assert [(e["action"], e["outcome"]) for e in reversed(entries)] == [
        ("force_not_ready", "ok"),
        ("force_ready", "ok"),
        ("force_release", "failed"),
        ("force_logout", "ok"),
    ]
    assert entries[-1]["detail"] == {"reason": "meeting"} and entries[-1]["role"] == "team_leader"
    only_ok = lead.get("/api/supervision/audit/", {"outcome": "ok", "action": "force_ready"})
    assert len(only_ok.json()["entries"]) == 1
    assert client_for(users["agent1"]).get("/api/supervision/audit/").status_code == 403
    assert lead.get("/api/supervision/audit/", {"since": "yesterday"}).status_code == 400


def test_the_audit_page_lists_and_filters(teams, client):
    _, users = teams
    client_for(users["lead1"]).post("/api/supervision/agents/ag2/force_logout/")
    client_for(users["lead2"]).post("/api/supervision/agents/ag1/force_logout/")
    client.force_login(users["admin"])
    page = client.get("/supervision/audit/", {"username": "lead1"}).content.decode()
    assert "lead1" in page and "force_logout" in page and "Refused" in page
    assert "lead2" not in page
    client.force_login(users["lead2"])  # a team leader sees its own actions only
    page = client.get("/supervision/audit/").content.decode()
    assert "lead2" in page and "lead1" not in page


@pytest.mark.browser
def test_a_forced_state_changes_the_agent_desktop_live(teams, platform, web, page):
    site, users = teams
    Switch.objects.filter(name=platform.switch).update(site=site)
    page.goto(f"{web}/agent/")
    page.fill("input[name=agent_id]", "ag1")
    page.fill("input[name=password]", "bar-1")
    page.click("button[type=submit]")
    page.wait_for_selector("#link[data-up='1']")
    page.click("#btn-ready")
    page.wait_for_selector("#state[data-state=ready]")
    lead = client_for(users["lead1"])
    assert (
        lead.post(
            "/api/supervision/agents/ag1/force_not_ready/", {"reason": "meeting"}, format="json"
        ).status_code
        == 200
    )
    page.wait_for_selector("#state[data-state=not_ready]")
    assert "meeting" in page.inner_text("#state-label")
    assert lead.post("/api/supervision/agents/ag1/force_ready/").status_code == 200
    page.wait_for_selector("#state[data-state=ready]")
    assert lead.post("/api/supervision/agents/ag1/force_logout/").status_code == 200
    page.wait_for_selector("#state[data-state=logged_out]")
