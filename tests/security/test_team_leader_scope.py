"""Issue 18, finding 5: a team leader acts and sees only within its teams.

Two teams: team A (leader lead_a, agent ag_a, queue "support") and team B (lead_b, ag_b,
"billing"); ag_a also serves billing. lead_a may not take ag_b into its group (and so may not
monitor or record it, nor hear its recordings), sees only team A's calls on `/api/calls/`,
`/api/live/` and `/ws/live/`, gets no report of billing, and cannot hand a billing caller to
ag_a through a URL that names support. An administrator keeps seeing and doing everything.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from agents.models import Agent, WorkGroup
from icm.bus import keys
from icm.bus.subscriber import fanout
from icm.consumers import LiveCallsConsumer
from icm.models import Call, Extension, Queue, Site, Switch
from recording.models import Recording
from supervision.models import AuditEntry
from supervision.scope import scope_of

GROUPS_API = "/api/supervision/work-groups/"


@pytest.fixture
def teams(transactional_db) -> dict[str, Any]:
    site = Site.objects.create(code="tl", name="Teams", sip_domain="tl.local")
    switch = Switch.objects.create(site=site, name=f"tl-{uuid.uuid4().hex[:8]}")
    world: dict[str, Any] = {"site": site, "switch": switch.name}
    leaders = Group.objects.get_or_create(name="Team leaders")[0]
    for app, code in (
        ("icm", "view_call"),
        ("icm", "view_queue"),
        ("icm", "view_callleg"),
        ("agents", "view_agent"),
        ("agents", "view_workgroup"),
    ):  # as migrated
        leaders.permissions.add(Permission.objects.get(content_type__app_label=app, codename=code))
    for n, (team, queue_name) in enumerate((("a", "support"), ("b", "billing")), start=1):
        queue = Queue.objects.create(site=site, name=queue_name, display_name=queue_name)
        ext = Extension.objects.create(site=site, number=f"140{n}", password="x")
        agent = Agent.objects.create(
            login_id=f"ag_{team}", name=f"Agent {team}", extension=ext, phone_bar_password="x"
        )
        group = WorkGroup.objects.create(name=f"team {team}")
        group.queues.add(queue)
        agent.work_groups.add(group)
        lead = User.objects.create_user(f"lead_{team}", password="pw")
        lead.groups.add(leaders)
        group.leaders.add(lead)
        world.update(
            {
                f"lead_{team}": lead,
                f"agent_{team}": agent,
                f"group_{team}": group,
                f"queue_{team}": queue,
            }
        )
    world["admin"] = User.objects.create_superuser("boss", "b@example.com", "pw")
    return world


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- group membership -------------------------------------------------------------------
def test_a_team_leader_cannot_take_another_team_s_agent(teams):
    lead_a, group_a = teams["lead_a"], teams["group_a"]
    recording = Recording.objects.create(
        switch=teams["switch"],
        call_uuid="rec-b",
        leg_uuid="rec-b",
        agent=teams["agent_b"],
        queue=teams["queue_b"],
        started_at=datetime.now(tz=UTC),
        path="/tmp/rec-b.wav",
        status=Recording.Status.READY,
    )
    r = api(lead_a).post(f"{GROUPS_API}{group_a.pk}/agents/", {"add": ["ag_b"]}, format="json")
    assert r.status_code == 403, r.content
    assert "ag_b is not in a work group you lead" in r.json()["detail"]
    assert list(group_a.agents.values_list("login_id", flat=True)) == ["ag_a"]
    assert not scope_of(lead_a).has_agent("ag_b")
    refused = AuditEntry.objects.get(action="work_group_add_agent")
    assert (refused.username, refused.outcome) == ("lead_a", "refused")
    # so none of what the agent would have brought with it
    for action in ("monitor", "barge", "record"):
        r = api(lead_a).post(
            f"/api/supervision/agents/ag_b/{action}/", {"extension": "1401"}, format="json"
        )
        assert r.status_code == 403, (action, r.content)
    assert api(lead_a).get(f"/api/recordings/{recording.pk}/").status_code == 404
    lead_b = teams["lead_b"]
    assert api(lead_b).get(f"/api/recordings/{recording.pk}/").status_code == 200
    # the page offers lead_a only its own agents
    browser = Client()
    browser.force_login(lead_a)
    page = browser.get("/supervision/work-groups/").content.decode()
    assert 'value="ag_b"' not in page
    # an administrator moves the agent; so may a leader of both groups
    r = api(teams["admin"]).post(
        f"{GROUPS_API}{group_a.pk}/agents/", {"add": ["ag_b"]}, format="json"
    )
    assert r.status_code == 200 and scope_of(lead_a).has_agent("ag_b")
    teams["group_b"].leaders.add(lead_a)
    r = api(lead_b).post(
        f"{GROUPS_API}{teams['group_b'].pk}/agents/", {"add": ["ag_a"]}, format="json"
    )
    assert r.status_code == 403  # lead_b still does not lead team A, where ag_a is
    r = api(lead_a).post(
        f"{GROUPS_API}{teams['group_b'].pk}/agents/", {"add": ["ag_a"]}, format="json"
    )
    assert r.status_code == 200, r.content


def test_a_team_leader_cannot_change_groups_in_the_admin_either(teams):
    """Even given staff status and the admin's agent and work-group permissions."""
    lead_a = teams["lead_a"]
    lead_a.is_staff = True
    lead_a.save()
    for code in ("view_agent", "change_agent", "view_workgroup", "change_workgroup"):
        lead_a.user_permissions.add(
            Permission.objects.get(content_type__app_label="agents", codename=code)
        )
    browser = Client()
    browser.force_login(lead_a)
    agent_b, group_a = teams["agent_b"], teams["group_a"]
    form = {
        "login_id": agent_b.login_id,
        "name": agent_b.name,
        "user": "",
        "active": "on",
        "level": str(agent_b.level),
        "extension": str(agent_b.extension_id),
        "work_groups": [str(group_a.pk), str(teams["group_b"].pk)],
        "new_phone_bar_password": "",
        "agent_skills-TOTAL_FORMS": "0",
        "agent_skills-INITIAL_FORMS": "0",
        "agent_skills-MIN_NUM_FORMS": "0",
        "agent_skills-MAX_NUM_FORMS": "1000",
    }
    r = browser.post(reverse("admin:agents_agent_change", args=[agent_b.pk]), form)
    assert r.status_code == 302  # saved: only the groups stayed as they were
    assert sorted(agent_b.work_groups.values_list("name", flat=True)) == ["team b"]
    r = browser.post(
        reverse("admin:agents_workgroup_change", args=[group_a.pk]),
        {
            "name": "team a",
            "description": "",
            "leaders": [str(lead_a.pk)],
            "queues": [str(teams["queue_a"].pk), str(teams["queue_b"].pk)],
        },
    )
    assert r.status_code == 302
    assert list(group_a.queues.values_list("name", flat=True)) == ["support"]
    assert not scope_of(lead_a).has_agent("ag_b") and not scope_of(lead_a).has_queue("billing")


# --- calls --------------------------------------------------------------------------------
def _call(teams: dict[str, Any], uuid_: str, queue: Queue | None, agent: Agent | None) -> Call:
    return Call.objects.create(
        switch=Switch.objects.get(name=teams["switch"]),
        call_uuid=uuid_,
        direction="inbound",
        ani=f"ani-{uuid_}",
        dnis="8000",
        created_at=datetime.now(tz=UTC) - timedelta(minutes=1),
        queue=queue,
        agent=agent,
    )


def test_api_calls_lists_only_the_team_s_calls(teams):
    _call(teams, "a-queue", teams["queue_a"], None)
    _call(teams, "b-queue", teams["queue_b"], teams["agent_b"])
    _call(teams, "b-queue-a-agent", teams["queue_b"], teams["agent_a"])  # its agent: in scope
    _call(teams, "ivr-only", None, None)

    def seen(user: User) -> list[str]:
        r = api(user).get("/api/calls/", {"switch": teams["switch"]})
        assert r.status_code == 200, r.content
        body = r.json()
        rows = body["results"] if isinstance(body, dict) else body
        return sorted(row["call_uuid"] for row in rows)

    assert seen(teams["lead_a"]) == ["a-queue", "b-queue-a-agent"]
    assert seen(teams["lead_b"]) == ["b-queue", "b-queue-a-agent"]
    assert seen(teams["admin"]) == ["a-queue", "b-queue", "b-queue-a-agent", "ivr-only"]


def test_another_team_s_queue_report_is_not_found(teams):
    lead_a = teams["lead_a"]
    assert api(lead_a).get("/api/queues/support/report/").status_code == 200
    r = api(lead_a).get("/api/queues/billing/report/")
    assert r.status_code == 404
    assert r.json() == api(lead_a).get("/api/queues/nowhere/report/").json()  # tells nothing
    assert api(teams["admin"]).get("/api/queues/billing/report/").status_code == 200


def _live(switch: str, uuid_: str, queue: str, agent: str = "", ani: str = "") -> dict[str, Any]:
    now = datetime.now(tz=UTC).isoformat()
    return {
        "switch": switch,
        "call_uuid": uuid_,
        "direction": "inbound",
        "ani": ani or uuid_,
        "caller_name": "",
        "dnis": "8000",
        "state": "answered",
        "created_at": now,
        "answered_at": now,
        "bridged_at": None,
        "ended_at": None,
        "hangup_cause": "",
        "queue": queue,
        "agent": agent,
        "legs": [],
    }


@pytest.fixture
def live(teams):
    """Switch S's published snapshot at seq 10: A1 (support) and B1 (billing, ag_b)."""
    bus = redis.Redis.from_url(settings.REDIS_URL)
    switch = teams["switch"]
    calls = {
        "A1": _live(switch, "A1", "support"),
        "B1": _live(switch, "B1", "billing", "ag_b", ani="5550111"),
    }
    bus.set(keys.seq_key(switch), 10)
    bus.hset(keys.calls_key(switch), mapping={k: json.dumps(v) for k, v in calls.items()})
    bus.hset(keys.status_key(switch), mapping={"connected": "1"})
    bus.sadd(keys.switches_key(), switch)
    yield bus, switch
    bus.delete(keys.seq_key(switch), keys.calls_key(switch), keys.status_key(switch))
    bus.srem(keys.switches_key(), switch)


def test_api_live_holds_only_the_team_s_calls(teams, live):
    _, switch = live

    def seen(user: User) -> list[str]:
        r = api(user).get("/api/live/", {"switch": switch})
        assert r.status_code == 200, r.content
        (snap,) = r.json()["switches"]
        assert snap["seq"] == 10 and snap["connected"] is True
        return sorted(c["call_uuid"] for c in snap["calls"])

    assert seen(teams["lead_a"]) == ["A1"]
    assert seen(teams["lead_b"]) == ["B1"]
    assert seen(teams["admin"]) == ["A1", "B1"]


def _stream(user: User, switch: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The frames of `switch` that /ws/live/ sends `user` while `events` are published."""

    async def run() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(LiveCallsConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        assert connected
        await asyncio.wait_for(fanout().subscribed.wait(), 10)
        bus = redis.Redis.from_url(settings.REDIS_URL)
        for event in events:
            bus.publish(keys.events_channel(bus), json.dumps(event))
        frames: list[dict[str, Any]] = []
        last = events[-1]["seq"]
        while not frames or frames[-1].get("seq") != last:
            frame = await communicator.receive_json_from(timeout=10)
            if frame.get("switch") == switch:  # other tests' switches may share the channel
                frames.append(frame)
        await communicator.disconnect()
        return frames

    return async_to_sync(run)()


def _events(switch: str) -> list[dict[str, Any]]:
    def ev(seq: int, kind: str, call: dict[str, Any] | None = None, **more: Any) -> dict:
        return {"switch": switch, "seq": seq, "type": kind, "call": call, "status": None, **more}

    return [
        ev(11, "call.updated", _live(switch, "B2", "billing", "ag_b", ani="5550222")),
        ev(12, "call.updated", _live(switch, "A2", "support")),
        ev(13, "agent.state", agent={"agent": "ag_b", "state": "busy", "contact": "B2"}),
        ev(14, "call.updated", _live(switch, "A1", "billing")),  # moved to team B's queue
        ev(15, "call.ended", _live(switch, "B1", "billing", "ag_b", ani="5550111")),
        ev(16, "call.updated", _live(switch, "A2", "billing", "ag_a")),  # ag_a: still A's
    ]


def test_ws_live_streams_only_the_team_s_calls_and_keeps_the_numbering(teams, live):
    _, switch = live
    frames = _stream(teams["lead_a"], switch, _events(switch))
    assert [f["seq"] for f in frames] == [11, 12, 13, 14, 15, 16]  # no gap: no re-snapshot
    assert [f["type"] for f in frames] == [
        "skip",
        "call.updated",
        "skip",
        "call.hidden",
        "skip",
        "call.updated",
    ]
    assert frames[3]["call"] == {"switch": switch, "call_uuid": "A1"}  # shown, then taken off
    text = json.dumps(frames)
    for secret in ("B1", "B2", "5550111", "5550222", "ag_b"):
        assert secret not in text, secret


def test_ws_live_streams_everything_to_an_administrator(teams, live):
    _, switch = live
    events = _events(switch)
    frames = _stream(teams["admin"], switch, events)
    # each frame is the event as published, numbered on this socket (the live protocol)
    assert [f.pop("wseq") for f in frames] == list(range(2, 2 + len(events)))  # 1: snapshot
    assert frames == events


# --- assigning a waiting caller ---------------------------------------------------------
def test_assign_call_checks_the_caller_s_real_queue_not_the_url_s(teams, live, monkeypatch):
    """ag_a (team A) also serves billing: a billing caller must not reach it through
    `/queues/support/assign/`, whichever way the caller's queue is known."""
    bus, switch = live
    sent: list[dict[str, Any]] = []

    def icm(switch_: str, name: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        sent.append({"switch": switch_, "name": name, **args})
        return {"ok": True}

    monkeypatch.setattr("icm.client.send", icm)
    figures = {
        "support": {"callers": [{"contact": "C-support"}]},
        "billing": {"callers": [{"contact": "C-billing"}]},
    }
    bus.set(keys.queues_key(switch), json.dumps(figures))
    bus.hset(keys.calls_key(switch), "C-live", json.dumps(_live(switch, "C-live", "billing")))
    _call(teams, "C-stored", teams["queue_b"], None)
    lead_a = api(teams["lead_a"])
    try:
        for contact in ("C-billing", "C-live", "C-stored", "C-nowhere"):
            r = lead_a.post(
                "/api/supervision/queues/support/assign/",
                {"contact": contact, "agent": "ag_a"},
                format="json",
            )
            assert r.status_code == 403, (contact, r.content)
            assert "is not waiting in queue support" in r.json()["detail"]
        assert sent == []  # nothing reached icm
        refused = AuditEntry.objects.filter(action="assign_call").order_by("id")
        assert [e.detail.get("waits_in") for e in refused] == ["billing"] * 3 + [""]
        assert {e.outcome for e in refused} == {"refused"}
        r = lead_a.post(
            "/api/supervision/queues/support/assign/",
            {"contact": "C-support", "agent": "ag_a"},
            format="json",
        )
        assert r.status_code == 200, r.content
        assert sent == [
            {
                "switch": switch,
                "name": "agent_pick",
                "agent": "ag_a",
                "contact": "C-support",
                "queue": "support",
            }
        ]
    finally:
        bus.delete(keys.queues_key(switch))


def test_icm_itself_refuses_a_pick_from_another_queue_than_the_one_checked():
    """The web checks the supervisor's scope on the queue of the URL; icm then refuses to
    hand over a caller who waits in another queue (the command carries that queue)."""
    from icm.daemon.acd.messages import AcdError, AcdRequest
    from icm.daemon.acd.runtime import AcdRuntime
    from icm.domain.acd.model import Contact, QueuePolicy

    sent: list = []
    runtime = AcdRuntime(
        "sw",
        lambda command: sent.append(command) or "+OK job",
        lambda item: None,
        lambda change: None,
        lambda done, why: None,
        clock=lambda: 100.0,
    )
    runtime.configure([QueuePolicy("support"), QueuePolicy("billing")], [("ag_a", {}, "1101")])
    runtime.request(AcdRequest("agent_login", {"agent": "ag_a", "ready": False}))
    runtime.contact_arrived(Contact("c-billing", "billing", 100.0))
    wrong = AcdRequest("agent_pick", {"agent": "ag_a", "contact": "c-billing", "queue": "support"})
    runtime.request(wrong)
    with pytest.raises(AcdError, match="not waiting in queue support"):
        wrong.result.get(timeout=1)
    assert sent == []  # no phone rang
    right = AcdRequest("agent_pick", {"agent": "ag_a", "contact": "c-billing", "queue": "billing"})
    runtime.request(right)
    assert right.result.get(timeout=1)["state"] == "reserved"
    assert len(sent) == 1  # the agent's phone rings for that caller
