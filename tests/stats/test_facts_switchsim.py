"""A scripted day through switchsim and icm: the facts icm writes as calls happen, then the
aggregation — the interval rows hold exactly the counts the script makes (offered, answered,
abandoned, short abandons, service level) and the averages the CDRs and the agent state log
give (ASA, AHT, occupancy)."""

from __future__ import annotations

import time

from agents.models import AgentStateChange
from icm.models import Call, Queue, Switch
from stats.aggregate import aggregate
from stats.models import AgentInterval, AgentStateFact, ContactFact, ContactInterval, SystemSnapshot
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import (
    client_for,
    support_calls_reach_agent1,
    teams,  # noqa: F401
)


def _try(switch: str, args: dict) -> bool:
    from icm import client
    from icm.bus.commands import CommandError

    try:
        client.send(switch, "agent_call", args, timeout=5)
    except CommandError:
        return False
    return True


def test_a_scripted_day_gives_the_expected_intervals(teams, platform_factory, settings):  # noqa: F811
    settings.IPBX_SHORT_ABANDON_SECONDS = 5
    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    Queue.objects.filter(name="support").update(service_level_seconds=20, wrap_up_seconds=1)
    platform = platform_factory(IPBX_STATS_SNAPSHOT_SECONDS="1")
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    agent = client_for(users["agent1"])

    def state(name: str, **extra: str) -> None:
        body = {"state": name, "switch": platform.switch, **extra}
        assert agent.post("/api/agents/ag1/state/", body, format="json").status_code == 200

    state("login")
    state("not_ready", reason="meeting")
    # two callers give up while the agent is not ready (patience counts from the call's
    # start; the IVR takes about 2 s): one after about 2 s in the queue (a short abandon),
    # one after about 8 s
    assert esl.api("sim_call 5550201 8131 patience=4").startswith("+OK")
    assert esl.api("sim_call 5550202 8131 patience=10").startswith("+OK")
    wait_until(
        lambda: ContactFact.objects.filter(outcome="abandoned").count() == 2,
        timeout=20,
        what="two abandons written",
    )
    # then two calls the agent answers at once; it puts the second one on hold for 1 s
    state("ready")
    assert esl.api("sim_call 5550301 8131 talk=2").startswith("+OK")
    wait_until(
        lambda: ContactFact.objects.filter(outcome="answered").count() == 1,
        timeout=20,
        what="answered call 1 written (after its wrap-up)",
    )
    assert esl.api("sim_call 5550302 8131 talk=4").startswith("+OK")
    hold = {"agent": "ag1", "action": "hold"}
    wait_until(lambda: _try(platform.switch, hold), timeout=20, what="the agent on call 2")
    time.sleep(1.0)
    assert _try(platform.switch, {"agent": "ag1", "action": "unhold"})
    wait_until(
        lambda: ContactFact.objects.filter(outcome="answered").count() == 2,
        timeout=20,
        what="answered call 2 written (after its wrap-up)",
    )
    state("not_ready", reason="meeting")
    wait_until(
        lambda: SystemSnapshot.objects.filter(switch=platform.switch).exists(),
        what="a system snapshot",
    )
    wait_until(
        lambda: AgentStateFact.objects.filter(state="ready").exists(),
        what="the ready interval written",
    )
    aggregate()

    rows = ContactInterval.objects.filter(period="15m", dimension="queue", key="support")
    total = {
        f: sum(getattr(r, f) for r in rows)
        for f in (
            "offered",
            "answered",
            "abandoned",
            "short_abandoned",
            "answered_in_sl",
            "wait_answered",
            "talk",
            "wrap",
        )
    }
    assert (
        total["offered"],
        total["answered"],
        total["abandoned"],
        total["short_abandoned"],
        total["answered_in_sl"],
    ) == (4, 2, 2, 1, 2)
    day = ContactInterval.objects.get(period="day", dimension="queue", key="support")
    assert (day.offered, day.answered, day.abandoned) == (4, 2, 2)
    # service level (short abandons left out) = 2 / (2 + 2 − 1)
    assert (
        round(100 * day.answered_in_sl / (day.answered + day.abandoned - day.short_abandoned), 1)
        == 66.7
    )
    # ASA and AHT against the CDRs
    answered = [
        c
        for c in Call.objects.filter(queue__name="support")
        if c.attached_data.get("routing", {}).get("outcome") == "answered"
    ]
    assert len(answered) == 2
    cdr_asa = sum(c.attached_data["routing"]["waited"] for c in answered) / 2
    assert abs(day.wait_answered / day.answered - cdr_asa) < 0.01
    aht = (day.talk + day.hold + day.wrap) / day.answered
    assert 0.9 <= day.hold <= 1.6  # the second call's hold, not in its talk time
    assert 4.5 <= day.talk <= 7.5 and 0.8 <= day.wrap / 2 <= 2.0 and aht > 3.0
    # occupancy from the agent's intervals = the state log's
    agent_day = AgentInterval.objects.get(period="day", agent="ag1")
    assert agent_day.handled == 2
    busy = agent_day.reserved + agent_day.on_call + agent_day.wrap_up
    log = list(AgentStateChange.objects.filter(agent__login_id="ag1").order_by("at"))
    spent: dict[str, float] = {}
    for a, b in zip(log, log[1:], strict=False):
        spent[a.to_state] = spent.get(a.to_state, 0.0) + (b.at - a.at).total_seconds()
    log_busy = spent.get("reserved", 0) + spent.get("on_call", 0) + spent.get("wrap_up", 0)
    assert abs(busy - log_busy) < 0.05
    assert abs(agent_day.ready - spent.get("ready", 0)) < 0.05
    occupancy = busy / (busy + agent_day.ready)
    assert 0 < occupancy <= 1


def test_facts_wait_out_a_database_failure(teams, platform_factory):  # noqa: F811
    """While icm cannot write its facts (the table is away: every insert fails) it keeps
    them and retries; once the table is back, the abandoned call's facts are written — none
    lost, none twice."""
    from django.db import connection

    from stats.models import QueueEventFact

    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    platform = platform_factory()
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    agent = client_for(users["agent1"])
    for body in ({"state": "login"}, {"state": "not_ready", "reason": "meeting"}):
        r = agent.post("/api/agents/ag1/state/", {**body, "switch": platform.switch}, format="json")
        assert r.status_code == 200
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE stats_contactfact RENAME TO stats_contactfact_away")
    try:
        assert esl.api("sim_call 5550401 8131 patience=5").startswith("+OK")
        platform.icm.wait_log("statistics facts not saved", timeout=30)
    finally:
        with connection.cursor() as cur:
            cur.execute("ALTER TABLE stats_contactfact_away RENAME TO stats_contactfact")
    fact = wait_until(
        lambda: ContactFact.objects.filter(outcome="abandoned").first(),
        timeout=30,
        what="the kept facts written after the failure",
    )
    assert fact.queue == "support" and fact.wait_seconds > 1
    assert ContactFact.objects.count() == 1
    kinds = sorted(QueueEventFact.objects.values_list("kind", flat=True))
    assert kinds == ["abandoned", "entered"]  # the batch's other facts, once each
