"""REST API for routing configuration: permissions, validation with clear errors."""

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from agents.models import Agent, NotReadyReason, Skill
from icm.models import Queue, Site


@pytest.fixture
def admin_client(db):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("cfg", "c@example.com", "pw"))
    return client


@pytest.fixture
def site(db):
    return Site.objects.create(code="cfg", name="Cfg", sip_domain="cfg.local")


def test_queue_with_invalid_parameters_is_refused_with_the_reason(admin_client, site):
    body = {
        "site": site.id,
        "name": "bad",
        "display_name": "Bad",
        "strategy": "ring_all",
        "strategy_parameters": {"occupancy_cap": 2},
    }
    response = admin_client.post("/api/config/queues/", body, format="json")
    assert response.status_code == 400
    assert "occupancy_cap" in str(response.json()["strategy_parameters"])
    body["strategy_parameters"] = {
        "ring_timeout": 12,
        "escalation": [{"after_seconds": 30, "relax_levels": 2}],
    }
    assert admin_client.post("/api/config/queues/", body, format="json").status_code == 201
    response = admin_client.patch(
        f"/api/config/queues/{Queue.objects.get(name='bad').id}/",
        {"strategy": "telepathy"},
        format="json",
    )
    assert response.status_code == 400


def test_skills_are_attached_by_name(admin_client, site):
    Queue.objects.create(site=site, name="billing", display_name="Billing")
    Skill.objects.create(name="billing")
    Agent.objects.create(login_id="x1", name="X")
    body = {"queue": "billing", "skill": "billing", "minimum_level": 4}
    r = admin_client.post("/api/config/queue-skills/", body, format="json")
    assert r.status_code == 201, r.content
    body = {"agent": "x1", "skill": "billing", "level": 11}
    r = admin_client.post("/api/config/agent-skills/", body, format="json")
    assert r.status_code == 400 and "level" in r.json()
    queue = admin_client.get("/api/config/queues/").json()["results"][0]
    assert queue["required_skills"] == {"billing": 4}


def test_routing_rule_needs_a_schedule_for_open_or_closed(admin_client, site):
    Queue.objects.create(site=site, name="night", display_name="Night")
    body = {"name": "nights", "when": "closed", "queue": "night"}
    r = admin_client.post("/api/config/routing-rules/", body, format="json")
    assert r.status_code == 400 and "schedule" in r.json()


def test_configuration_needs_model_permissions(db):
    user = User.objects.create_user("viewer", password="pw")
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/config/skills/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_skill"))
    user = User.objects.get(pk=user.pk)  # permission cache
    client.force_authenticate(user)
    assert client.get("/api/config/skills/").status_code == 200
    assert client.post("/api/config/skills/", {"name": "x"}, format="json").status_code == 403


def test_not_ready_reason_must_be_configured(admin_client):
    NotReadyReason.objects.create(code="lunch", label="Lunch")
    r = admin_client.post(
        "/api/agents/a1/state/", {"state": "not_ready", "reason": "nap"}, format="json"
    )
    assert r.status_code == 400 and "lunch" in str(r.json()["reason"])
