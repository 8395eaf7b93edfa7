"""SV-7: a team leader hands a waiting caller to a chosen agent of its team (even one that is
not ready); another team's leader is refused; both are audited."""

from __future__ import annotations

import json

import redis
from django.conf import settings

from icm.bus import keys
from icm.models import Switch
from supervision.models import AuditEntry
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for, support_calls_reach_agent1


def test_a_waiting_caller_is_assigned_to_a_chosen_agent(teams, platform):
    site, users = teams
    Switch.objects.filter(name=platform.switch).update(site=site)
    support_calls_reach_agent1(site, users, "8132")
    esl = platform.control()
    esl.api("sim_register 1301 noanswer")
    agent = client_for(users["agent1"])
    for state in ("login", "not_ready"):  # signed in, not ready: nothing rings it by itself
        body = {"state": state, "switch": platform.switch, "reason": "meeting"}
        reply = agent.post("/api/agents/ag1/state/", body, format="json")
        assert reply.status_code == 200, reply.content
    assert esl.api("sim_call 5550101 8132 patience=60").startswith("+OK")
    bus = redis.Redis.from_url(settings.REDIS_URL)

    def waiting():
        raw = bus.get(keys.queues_key(platform.switch))
        callers = json.loads(raw).get("support", {}).get("callers", []) if raw else []
        return callers[0]["contact"] if callers else None

    contact = wait_until(waiting, what="the caller listed as waiting")
    body = {"contact": contact, "agent": "ag1"}
    r = client_for(users["lead2"]).post(
        "/api/supervision/queues/support/assign/", body, format="json"
    )
    assert r.status_code == 403
    r = client_for(users["lead1"]).post(
        "/api/supervision/queues/support/assign/", body, format="json"
    )
    assert r.status_code == 200, r.content

    def state():
        raw = bus.hget(keys.agents_key(platform.switch), "ag1")
        return json.loads(raw) if raw else {}

    offered = wait_until(
        lambda: state().get("state") == "reserved" and state(),
        what="ag1 rung for the assigned caller",
    )
    assert offered["contact"] == contact
    assert (
        client_for(users["lead1"])
        .post("/api/supervision/queues/support/assign/", {}, format="json")
        .status_code
        == 400
    )
    audit = list(
        AuditEntry.objects.filter(action="assign_call")
        .order_by("id")
        .values_list("username", "outcome")
    )
    assert audit == [("lead2", "refused"), ("lead1", "ok")]
    esl.close()
