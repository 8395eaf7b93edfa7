"""Outbound dialing through switchsim (AG-16, AG-23, INT-4): a premium-rate number by a
trainee is refused with the rule's message, the same number by a senior is dialled
(the agent's phone rings, then the trunk); internal calls ring the extension."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from agents.models import Agent, DialRule
from icm.models import CallLeg, Extension, Gateway, Site, Switch
from tests.fixtures.waiting import wait_until


@pytest.fixture
def agents(transactional_db):
    site = Site.objects.create(code="dial", name="Dial site", sip_domain="dial.local")
    for login_id, ext, level in (("trainee", "1101", 1), ("senior", "1102", 3)):
        extension = Extension.objects.create(site=site, number=ext, password="x")
        Agent.objects.create(
            login_id=login_id, name=login_id.title(), extension=extension, level=level
        )
    Extension.objects.create(site=site, number="1103", password="x")  # a desk phone
    DialRule.objects.create(
        name="Premium rate",
        pattern=r"^1900",
        minimum_level=Agent.Level.SENIOR,
        message="Premium-rate numbers need a senior agent.",
    )
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("boss", "b@example.com", "pw"))
    return site, client


def leg_to(number):
    return CallLeg.objects.filter(channel_name__contains=number).first()


def test_premium_rate_refused_for_a_trainee_dialled_for_a_senior(agents, platform_factory):
    site, client = agents
    platform = platform_factory()
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    Gateway.objects.create(
        switch=switch, name="carrier", proxy="sip.example", enabled=True, caller_id_number="5550000"
    )
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    esl.api("sim_register 1102 answer:0.2")
    esl.api("sim_register 1103 answer:0.2")

    r = client.post("/api/agents/trainee/dial/", {"number": "1900 555 1234"}, format="json")
    assert r.status_code == 403
    assert r.json()["detail"] == "Premium-rate numbers need a senior agent."
    assert '"19005551234"' not in esl.api("show channels as json")

    r = client.post("/api/agents/senior/dial/", {"number": "1900 555 1234"}, format="json")
    assert r.status_code == 200, r.content
    # switchsim names trunk legs as FreeSWITCH does: sofia/external/<number>@<gateway>
    leg = wait_until(
        lambda: leg_to("sofia/external/19005551234@carrier"), timeout=20, what="the trunk leg"
    )
    assert leg.ani == "5550000"  # the customer sees the company's number, not their own
    agent_leg = CallLeg.objects.filter(channel_name__contains="1102", call=leg.call).first()
    assert agent_leg is not None  # the senior's phone rang first and is bridged to the trunk

    # an internal call rings the extension, whatever the agent's level
    r = client.post("/api/agents/trainee/dial/", {"number": "1103"}, format="json")
    assert r.status_code == 200, r.content
    inside = wait_until(
        lambda: leg_to("sofia/internal/1103@"), timeout=20, what="the extension's leg"
    )
    assert CallLeg.objects.filter(channel_name__contains="1101", call=inside.call).exists()
    for spelling in ("+1 900 555 1234", "001900 555 1234", "*19005551234"):
        r = client.post("/api/agents/trainee/dial/", {"number": spelling}, format="json")
        assert r.status_code == 403, spelling  # every spelling meets the rule (or is refused)
    r = client.post("/api/agents/trainee/dial/", {"number": "not a number"}, format="json")
    assert r.status_code == 403 and "not a phone number" in r.json()["detail"]
    r = client.post("/api/agents/nobody/dial/", {"number": "1102"}, format="json")
    assert r.status_code == 404
    esl.close()


def test_only_the_agent_itself_or_a_supervisor_may_dial_for_it(agents):
    other = User.objects.create_user("someone", password="pw")
    client = APIClient()
    client.force_authenticate(other)
    r = client.post("/api/agents/senior/dial/", {"number": "5551234"}, format="json")
    assert r.status_code == 403


def test_a_transfer_meets_the_same_dialing_rules(agents):
    from agents.actions import DesktopRefused, check_desktop_command

    trainee = Agent.objects.get(login_id="trainee")
    with pytest.raises(DesktopRefused, match="Premium-rate numbers need a senior agent."):
        check_desktop_command(
            trainee, "fs1", "transfer", {"kind": "number", "target": "1900 555 1234"}
        )
    with pytest.raises(DesktopRefused, match="there is no extension 5551234"):
        check_desktop_command(
            trainee, "fs1", "transfer", {"kind": "extension", "target": "5551234"}
        )
