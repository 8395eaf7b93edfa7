"""The address book's API (AG-23): colleagues with their live state and whether the agent may
listen to them, extensions that are no agent's phone, the agent's own frequent numbers, the
shared entries; `?q=` searches every section; only the agent itself (or who may act for it)
reads it. And only an administrator grants the colleague-listening permission (AG-19)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from agents.models import AddressBookEntry, Agent
from icm.bus import keys
from icm.bus.client import get_redis
from icm.models import Call, Extension, Switch
from tests.supervision.conftest import client_for


def _book(teams):
    site, users = teams
    switch = Switch.objects.create(site=site, name="book-sw", esl_password="x")
    Extension.objects.create(site=site, number="1380", password="x", display_name="Reception")
    AddressBookEntry.objects.create(name="Head office", number="5550100", note="switchboard")
    AddressBookEntry.objects.create(name="Old partner", number="5550111", active=False)
    ag1 = Agent.objects.get(login_id="ag1")
    now = datetime.now(tz=UTC)
    for n, (direction, ani, dnis, days) in enumerate(
        [
            ("outbound", "1301", "5550199", 1),
            ("outbound", "1301", "5550199", 2),
            ("inbound", "5550123", "8131", 3),
            ("outbound", "1301", "5550177", 200),  # too old
        ]
    ):
        Call.objects.create(
            switch=switch,
            call_uuid=f"c{n}",
            direction=direction,
            ani=ani,
            dnis=dnis,
            caller_name="Acme" if direction == "inbound" else "",
            created_at=now - timedelta(days=days),
            agent=ag1,
        )
    return users


def test_the_sections_and_the_search(teams):
    users = _book(teams)
    live = {"agent": "ag2", "state": "on_call", "internal": {"role": "callee"}}
    get_redis().hset(keys.agents_key("book-sw"), "ag2", json.dumps(live))
    r = client_for(users["agent1"]).get("/api/agents/ag1/address-book/")
    assert r.status_code == 200, r.content
    book = r.json()
    assert [a["login_id"] for a in book["agents"]] == ["ag2"]  # not itself
    ag2 = book["agents"][0]
    assert ag2["state"] == "on_call" and ag2["internal"] is True  # its live state
    assert ag2["team"] is False and ag2["may_monitor"] is False  # another team
    assert book["extensions"] == [{"name": "Reception", "number": "1380"}]
    assert book["frequent"] == [
        {"name": "", "number": "5550199", "calls": 2},
        {"name": "Acme", "number": "5550123", "calls": 1},
    ]
    assert book["shared"] == [{"name": "Head office", "number": "5550100", "note": "switchboard"}]
    found = client_for(users["agent1"]).get("/api/agents/ag1/address-book/?q=HEAD").json()
    assert found["shared"] and not found["agents"] and not found["frequent"]
    found = client_for(users["agent1"]).get("/api/agents/ag1/address-book/?q=agent 2").json()
    assert [a["login_id"] for a in found["agents"]] == ["ag2"] and not found["extensions"]


def test_only_the_agent_or_who_acts_for_it(teams):
    users = _book(teams)
    assert client_for(users["agent2"]).get("/api/agents/ag1/address-book/").status_code == 403
    assert client_for(users["lead2"]).get("/api/agents/ag1/address-book/").status_code == 403
    assert client_for(users["lead1"]).get("/api/agents/ag1/address-book/").status_code == 200
    r = client_for(users["agent1"]).get("/api/agents/nobody/address-book/")
    assert r.status_code == 404


def test_only_an_administrator_grants_listening_to_colleagues(teams):
    from django.contrib.admin.sites import site as admin_site
    from django.test import RequestFactory

    from agents.admin import AgentAdmin

    site, users = teams
    model_admin = AgentAdmin(Agent, admin_site)
    request = RequestFactory().get("/")
    agent = Agent.objects.get(login_id="ag1")
    request.user = users["lead1"]
    assert "may_monitor_colleagues" in model_admin.get_readonly_fields(request, agent)
    request.user = users["admin"]
    assert "may_monitor_colleagues" not in model_admin.get_readonly_fields(request, agent)
