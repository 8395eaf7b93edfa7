"""300 callers with random patience into 3 queues served by 25 agents with overlapping
skills, through switchsim: every call answered by a qualified agent or abandoned; the
queue report (SQL) matches a hand count from the CDRs; no-answer and busy paths happen."""

import random
import time
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import Agent, AgentSkill, AgentStateChange, Skill
from icm.models import Call, Extension, InboundRoute, Queue, QueueSkill, Site
from tests.fixtures.waiting import wait_until

QUEUES = {  # name: (dnis, strategy, {skill: minimum level})
    "sales": ("8201", "round_robin", {"english": 3}),
    "support": ("8202", "skills_best_match", {"english": 2, "tech": 4}),
    "billing": ("8203", "longest_idle", {"billing": 5}),
}
CALLERS = 300


def build_call_center(rng: random.Random) -> dict[str, str]:
    """25 agents with overlapping skills; returns agent -> phone behaviour."""
    site = Site.objects.create(code="scn", name="Scenario", sip_domain="scn.local")
    skills = {name: Skill.objects.create(name=name) for name in ("english", "tech", "billing")}
    for name, (dnis, strategy, required) in QUEUES.items():
        params = {"ring_timeout": 2, "max_missed": 50}
        queue = Queue.objects.create(
            site=site,
            name=name,
            display_name=name,
            strategy=strategy,
            wrap_up_seconds=0,
            service_level_seconds=3,
            strategy_parameters=params,
        )
        for skill, level in required.items():
            QueueSkill.objects.create(queue=queue, skill=skills[skill], minimum_level=level)
        InboundRoute.objects.create(site=site, name=name, dnis=dnis, queue=queue)
    phones = {}
    for i in range(25):
        ext = Extension.objects.create(site=site, number=f"12{i:02d}", password="x")
        agent = Agent.objects.create(login_id=f"s{i:02d}", name=f"S{i}", extension=ext)
        # the never-answering and the busy phone's agents qualify everywhere: they get offers
        names = sorted(skills) if i < 2 else rng.sample(sorted(skills), rng.randint(1, 3))
        for skill in names:
            level = 9 if i < 2 else rng.randint(2, 9)
            AgentSkill.objects.create(agent=agent, skill=skills[skill], level=level)
        phones[agent.login_id] = "noanswer" if i == 0 else "busy" if i == 1 else "answer:0.1-0.4"
    return phones


def qualified(agent: Agent, queue: Queue) -> bool:
    levels = {s.skill.name: s.level for s in agent.agent_skills.select_related("skill")}
    return all(
        levels.get(qs.skill.name, 0) >= qs.minimum_level
        for qs in queue.required_skills.select_related("skill")
    )


def test_three_queues_twenty_five_agents_three_hundred_callers(platform_factory):
    rng = random.Random(2026)
    phones = build_call_center(rng)
    platform = platform_factory("--playback-seconds", "0.1")
    esl = platform.control()
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("scn", "s@example.com", "pw"))
    for agent, behaviour in phones.items():
        assert esl.api(f"sim_register 12{agent[1:]} {behaviour}").startswith("+OK")
        body = {"state": "login", "switch": platform.switch}
        response = client.post(f"/api/agents/{agent}/state/", body, format="json")
        assert response.status_code == 200, response.content
    started = timezone.now()
    dnis = [spec[0] for spec in QUEUES.values()]
    for n in range(CALLERS):
        reply = esl.api(f"sim_call 56{n:05d} {rng.choice(dnis)} patience=2-9 talk=0.2-1.5")
        assert reply.startswith("+OK"), reply
        if n % 20 == 19:
            time.sleep(1)  # ~20 calls/s
    calls = Call.objects.filter(switch__name=platform.switch, ani__startswith="56")
    wait_until(
        lambda: calls.filter(ended_at__isnull=False).count() == CALLERS,
        timeout=120,
        interval=0.5,
        what="all 300 calls to end",
    )
    until = timezone.now() + timedelta(seconds=1)

    by_queue: dict[str, list[Call]] = {name: [] for name in QUEUES}
    for call in calls.select_related("queue", "agent"):
        routing = call.attached_data.get("routing", {})
        assert routing.get("outcome") in ("answered", "abandoned", "overflowed"), call.attached_data
        by_queue[call.queue.name].append(call)
        if routing["outcome"] == "answered":
            assert qualified(call.agent, call.queue), (call.agent.login_id, call.queue.name)
        else:
            assert call.agent is None
    assert sum(len(v) for v in by_queue.values()) == CALLERS

    for name, queue_calls in by_queue.items():
        queue = Queue.objects.get(name=name)
        answered = [c for c in queue_calls if c.attached_data["routing"]["outcome"] == "answered"]
        abandoned = [c for c in queue_calls if c.attached_data["routing"]["outcome"] == "abandoned"]
        waits = [c.attached_data["routing"]["waited"] for c in answered]
        within = sum(1 for w in waits if w <= queue.service_level_seconds)
        handled = len(answered) + len(abandoned)
        period = {"since": started.isoformat(), "until": until.isoformat()}
        report = client.get(f"/api/queues/{name}/report/", period).json()
        assert report["offered"] == len(queue_calls)
        assert report["answered"] == len(answered)
        assert report["abandoned"] == len(abandoned)
        assert report["service_level"] == round(within / handled, 4)
        assert report["abandon_rate"] == round(len(abandoned) / len(queue_calls), 4)
        if waits:
            assert abs(report["asa_seconds"] - sum(waits) / len(waits)) < 0.001
    # every queue answered some and the paths of a phone that never answers / is busy ran
    assert all(any(c.agent_id for c in v) for v in by_queue.values())
    missed = AgentStateChange.objects.filter(
        agent__login_id__in=["s00", "s01"], from_state="reserved", to_state="ready"
    )
    assert missed.filter(agent__login_id="s00").exists()  # no answer → re-routed
    assert missed.filter(agent__login_id="s01").exists()  # busy → re-routed
    esl.close()
