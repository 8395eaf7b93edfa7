"""Reserve agents and the top-down order set per queue (R-6): loaded into the ACD's policy,
set in the admin (inline on the queue) and through the API, bad values refused with the
reason."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from agents.models import Agent, Skill
from icm.acd_config import load_policies, load_policy
from icm.models import Queue, QueueAgent, QueueSkill, Site


@pytest.fixture
def queue(db):
    site = Site.objects.create(code="r6", name="R6", sip_domain="r6.local")
    queue = Queue.objects.create(
        site=site,
        name="sales",
        display_name="Sales",
        strategy="top_down",
        reserve_threshold=3,
        reserve_service_level=70,
    )
    QueueSkill.objects.create(queue=queue, skill=Skill.objects.create(name="sales"))
    for login in ("ann", "bob", "cat"):
        Agent.objects.create(login_id=login, name=login.title())
    return queue


def test_positions_and_reserves_load_into_the_queues_policy(queue):
    QueueAgent.objects.create(queue=queue, agent=Agent.objects.get(login_id="bob"), position=1)
    QueueAgent.objects.create(queue=queue, agent=Agent.objects.get(login_id="ann"), position=2)
    QueueAgent.objects.create(queue=queue, agent=Agent.objects.get(login_id="cat"), reserve=True)
    policy = load_policy("sales")
    assert policy.agent_order == {"bob": 1, "ann": 2}
    assert policy.reserve_agents == frozenset({"cat"})
    assert (policy.reserve_threshold, policy.reserve_service_level) == (3, 0.7)
    policies, refused = load_policies()
    assert refused == {} and policies == [policy]


def test_reserve_settings_left_in_the_strategy_parameters_are_refused_naming_the_field(queue):
    queue.strategy_parameters = {"reserve_threshold": 5}
    with pytest.raises(ValidationError, match="reserve_threshold in the queue's reserve threshold"):
        queue.full_clean()
    queue.save()
    assert (
        "set reserve_threshold in the queue's reserve threshold field"
        in (load_policies()[1]["sales"])
    )


@pytest.fixture
def superuser(queue):
    return User.objects.create_superuser("r6", "r6@example.com", "pw")


def _admin_form(queue: Queue, rows: list[dict], **fields) -> dict:
    data = {
        "site": queue.site_id,
        "name": queue.name,
        "display_name": queue.display_name,
        "strategy": queue.strategy,
        "strategy_parameters": "{}",
        "service_level_seconds": 20,
        "service_level_target": 80,
        "wrap_up_seconds": 10,
        "max_wait_seconds": 600,
        "music_on_hold": "local_stream://moh",
        "enabled": "on",
        "reserve_threshold": 3,
        "reserve_service_level": 70,
        "required_skills-TOTAL_FORMS": "0",
        "required_skills-INITIAL_FORMS": "0",
        "agent_settings-TOTAL_FORMS": str(len(rows)),
        "agent_settings-INITIAL_FORMS": "0",
        **fields,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"agent_settings-{i}-{key}"] = value
    return data


def test_the_admin_sets_positions_and_reserves_inline_on_the_queue(client, queue, superuser):
    client.force_login(superuser)
    url = reverse("admin:icm_queue_change", args=[queue.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"agent_settings-0-reserve" in page.content
    ann, cat = Agent.objects.get(login_id="ann"), Agent.objects.get(login_id="cat")
    rows = [{"agent": ann.pk, "position": 1}, {"agent": cat.pk, "reserve": "on"}]
    response = client.post(url, _admin_form(queue, rows))
    assert response.status_code == 302, response.context["errors"]
    policy = load_policy("sales")
    assert (policy.agent_order, policy.reserve_agents) == ({"ann": 1}, frozenset({"cat"}))


def test_the_admin_refuses_a_bad_reserve_service_level_with_the_reason(client, queue, superuser):
    client.force_login(superuser)
    url = reverse("admin:icm_queue_change", args=[queue.pk])
    response = client.post(url, _admin_form(queue, [], reserve_service_level=150))
    assert response.status_code == 200
    assert "less than or equal to 100" in str(response.context["adminform"].form.errors)


@pytest.fixture
def api(superuser):
    client = APIClient()
    client.force_authenticate(superuser)
    return client


def test_the_api_sets_an_agents_position_and_reserve_flag_by_name(api, queue):
    body = {"queue": "sales", "agent": "bob", "position": 2, "reserve": True}
    response = api.post("/api/config/queue-agents/", body, format="json")
    assert response.status_code == 201, response.content
    again = api.post("/api/config/queue-agents/", body, format="json")
    assert again.status_code == 400
    assert "already has settings in this queue" in str(again.json())
    response = api.post("/api/config/queue-agents/", {**body, "agent": "nobody"}, format="json")
    assert response.status_code == 400 and "agent" in response.json()
    shown = api.get(f"/api/config/queues/{queue.pk}/").json()
    assert shown["agents"] == [{"agent": "bob", "position": 2, "reserve": True}]
    assert (shown["reserve_threshold"], shown["reserve_service_level"]) == (3, 70)


def test_the_api_refuses_bad_reserve_settings_with_the_reason(api, queue):
    url = f"/api/config/queues/{queue.pk}/"
    response = api.patch(url, {"reserve_service_level": 0}, format="json")
    assert response.status_code == 400 and "reserve_service_level" in response.json()
    response = api.patch(url, {"strategy_parameters": {"reserve_threshold": 2}}, format="json")
    assert response.status_code == 400
    assert "reserve threshold field" in str(response.json()["strategy_parameters"])
    response = api.patch(url, {"reserve_threshold": 0}, format="json")
    assert response.status_code == 200 and load_policy("sales").reserve_threshold == 0
