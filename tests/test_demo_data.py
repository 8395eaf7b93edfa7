"""`manage.py load_demo` builds a usable demo call center and is safe to run again."""

import base64
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from lxml import etree

from agents.models import Agent
from icm.models import Customer, Extension, InboundRoute, Queue, Site, Switch
from ivr.models import Flow

pytestmark = pytest.mark.django_db

DEMO_APPS = ("agents", "icm", "ivr", "auth", "outbound")
SIP_DOMAIN = "hq.ipbx.local"


def _load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def _snapshot() -> dict[str, list]:
    """Every row of every model of the demo apps, as values (so any change shows)."""
    rows = {}
    for label in DEMO_APPS:
        for model in apps.get_app_config(label).get_models():
            rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


def test_running_twice_changes_and_duplicates_nothing():
    first_output = _load()
    assert "created" in first_output
    first = _snapshot()

    second_output = _load()
    assert "nothing changed" in second_output
    assert _snapshot() == first


def test_second_run_restores_edited_demo_values():
    _load()
    Queue.objects.filter(name="sales").update(strategy=Queue.Strategy.RANDOM)
    agent = Agent.objects.get(login_id="a1003")
    agent.set_phone_bar_password("changed")
    agent.save()

    output = _load()
    assert "updated" in output
    assert Queue.objects.get(name="sales").strategy == Queue.Strategy.ROUND_ROBIN
    assert Agent.objects.get(login_id="a1003").check_phone_bar_password("demo")


def test_demo_contents(settings):
    _load()
    site = Site.objects.get(code="hq")
    assert site.sip_domain == "hq.ipbx.local"
    switch = Switch.objects.get(name="fs1")
    assert (switch.esl_host, switch.esl_port) == ("127.0.0.1", 8021)
    assert switch.esl_password == settings.FREESWITCH_ESL_PASSWORD
    assert switch.gateways.filter(name="carrier").exists()

    numbers = sorted(Extension.objects.filter(site=site).values_list("number", flat=True))
    assert numbers == [str(n) for n in range(1001, 1011)]
    assert Extension.objects.get(number="1007").password == "demo-1007"

    agents = Agent.objects.select_related("extension", "user").order_by("login_id")
    assert [a.login_id for a in agents] == [f"a{n}" for n in range(1001, 1011)]
    for agent in agents:
        assert agent.extension.number == agent.login_id[1:]
        assert agent.check_phone_bar_password("demo")
        assert not agent.check_phone_bar_password("wrong")
        assert agent.user.username == agent.login_id
        assert agent.agent_skills.exists()
        assert agent.work_groups.exists()

    strategies = {q.name: q.strategy for q in Queue.objects.all()}
    assert set(strategies) == {"sales", "support", "billing"}
    assert len(set(strategies.values())) == 3
    assert all(q.required_skills.exists() for q in Queue.objects.all())

    flow = Flow.objects.get(name="main-menu")
    assert flow.published_version.status == "published"
    route = InboundRoute.objects.get(dnis="8000")
    assert route.flow == flow
    assert route.closed_flow.name == "night-service" and route.schedule.name == "Office hours"
    assert Flow.objects.get(name="account-balance").published_version is not None
    assert InboundRoute.objects.get(dnis="8001").queue.name == "sales"

    from outbound.models import Campaign

    renewals = Campaign.objects.get(name="demo-renewals")
    assert (renewals.mode, renewals.state, renewals.queue.name) == ("preview", "draft", "sales")
    assert renewals.contacts.count() == 20
    assert renewals.contacts.first().data["plan"] in ("Bronze", "Silver", "Gold")
    winback = Campaign.objects.get(name="demo-winback")
    assert (winback.mode, winback.state, winback.amd) == ("predictive", "draft", True)
    assert winback.contacts.count() == 200

    assert 15 <= Customer.objects.count() <= 30
    assert Customer.objects.filter(grade=Customer.Grade.VIP).exists()
    assert Customer.objects.filter(numbers__number="5550101").get().grade == Customer.Grade.VIP


def test_demo_users_can_sign_in(client):
    _load()
    user_model = get_user_model()
    assert user_model.objects.get(username="admin").is_superuser
    assert client.login(username="admin", password="admin")
    assert client.get("/admin/icm/call/").status_code == 200
    assert client.login(username="leader", password="leader")
    assert user_model.objects.get(username="leader").led_work_groups.count() == 2
    assert client.login(username="a1001", password="demo")


def test_demo_phone_registers_through_xml_curl(client, settings):
    """FreeSWITCH asking for 1001@hq.ipbx.local gets the demo password and agent ID."""
    _load()
    auth = f"{settings.XML_CURL_USER}:{settings.XML_CURL_SECRET}".encode()
    response = client.generic(
        "POST",
        "/freeswitch/xml_curl/",
        urlencode(
            {"section": "directory", "action": "sip_auth", "user": "1001", "domain": SIP_DOMAIN}
        ),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(auth).decode(),
    )
    assert response.status_code == 200
    user = etree.fromstring(response.content).find(".//user")
    assert user.get("id") == "1001"
    assert user.find("params/param[@name='password']").get("value") == "demo-1001"
    assert user.find("variables/variable[@name='ipbx_agent_id']").get("value") == "a1001"
