"""Extension health through switchsim (ICM-1): an agent whose phone is not registered is not
offered calls and the supervisor sees why (the agent's live view on the wallboard, the call's
routing explanation, the admin's extension list); its phone registering again restores
offers; a registration lost while icm was away is caught by the resync."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from agents.models import Agent, AgentSkill, AgentStateChange, Skill
from icm.bus import keys
from icm.models import (
    Call,
    Extension,
    ExtensionRegistration,
    InboundRoute,
    Queue,
    QueueAgent,
    QueueSkill,
    Site,
)
from tests.fixtures.waiting import wait_until


@pytest.fixture
def desk(transactional_db):
    site = Site.objects.create(code="reg", name="Reg site", sip_domain="reg.local")
    skill = Skill.objects.create(name="desk")
    queue = Queue.objects.create(
        site=site,
        name="desk",
        display_name="Desk",
        strategy="top_down",
        wrap_up_seconds=1,
        strategy_parameters={"ring_timeout": 5, "announce_seconds": 0},
    )
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=1)
    InboundRoute.objects.create(site=site, name="desk", dnis="8700", queue=queue)
    for n, login in ((1, "una"), (2, "duo")):
        ext = Extension.objects.create(site=site, number=f"130{n}", password="x")
        agent = Agent.objects.create(login_id=login, name=login.title(), extension=ext)
        AgentSkill.objects.create(agent=agent, skill=skill, level=5)
        QueueAgent.objects.create(queue=queue, agent=agent, position=n)  # una first
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("supr", "s@example.com", "pw"))
    return client


def _login(client, platform, agent):
    body = {"state": "login", "switch": platform.switch}
    assert client.post(f"/api/agents/{agent}/state/", body, format="json").status_code == 200


def _phone(switch, agent):
    raw = redis.Redis.from_url(settings.REDIS_URL).hget(keys.agents_key(switch), agent)
    return (json.loads(raw).get("phone") or {}) if raw else {}


def _registered(switch, user):
    row = ExtensionRegistration.objects.filter(switch=switch, user=user).first()
    return None if row is None else row.registered


def _ended(ani):
    return Call.objects.filter(ani=ani, ended_at__isnull=False).first()


def _offers(agent):
    return AgentStateChange.objects.filter(agent__login_id=agent, to_state="reserved").count()


def test_an_unregistered_phone_gets_no_offers_until_it_registers_again(desk, platform_factory):
    platform = platform_factory()
    sw = platform.switch
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    esl.api("sim_register 1302 answer:0.2")
    _login(desk, platform, "una")
    _login(desk, platform, "duo")
    wait_until(lambda: _phone(sw, "una").get("registered") is True, what="una's phone known")
    assert esl.api("sim_unregister 1301").startswith("+OK")
    wait_until(lambda: _registered(sw, "1301") is False, what="the admin's row to follow")
    view = wait_until(lambda: _phone(sw, "una").get("registered") is False and _phone(sw, "una"))
    assert view == {
        "extension": "1301",
        "registered": False,
        "why": "phone 1301 not registered (it signed off)",
    }
    assert esl.api("sim_call 5557001 8700 talk=1").startswith("+OK")
    call = wait_until(lambda: _ended("5557001"), timeout=30, what="the first call to end")
    assert call.agent.login_id == "duo"  # una is first in order, but cannot be rung
    routing = call.attached_data["routing"]
    assert routing["excluded"]["una"] == "phone 1301 not registered (it signed off)"
    assert _offers("una") == 0
    assert esl.api("sim_register 1301 answer:0.2").startswith("+OK")
    wait_until(lambda: _phone(sw, "una").get("registered") is True, what="una's phone back")
    wait_until(lambda: _registered(sw, "1301") is True, what="the admin's row to follow")
    assert esl.api("sim_call 5557002 8700 talk=1").startswith("+OK")
    call = wait_until(lambda: _ended("5557002"), timeout=30, what="the second call to end")
    assert call.agent.login_id == "una"
    esl.close()


def test_a_caller_waiting_is_offered_the_moment_the_phone_registers(desk, platform_factory):
    platform = platform_factory()
    sw = platform.switch
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    _login(desk, platform, "una")
    wait_until(lambda: _phone(sw, "una").get("registered") is True, what="una's phone known")
    assert esl.api("sim_expire 1301").startswith("+OK")  # its registration ran out
    wait_until(
        lambda: (
            _phone(sw, "una").get("why") == "phone 1301 not registered (its registration expired)"
        ),
        what="the expiry on the wallboard",
    )
    assert esl.api("sim_call 5557003 8700 talk=1 patience=60").startswith("+OK")
    with pytest.raises(AssertionError):
        wait_until(lambda: _offers("una"), timeout=3, what="no offer to an expired phone")
    assert esl.api("sim_register 1301 answer:0.2").startswith("+OK")
    call = wait_until(lambda: _ended("5557003"), timeout=30, what="the waiting call to end")
    assert call.agent.login_id == "una"
    esl.close()


def test_a_registration_lost_while_icm_was_away_is_caught_by_the_resync(desk, platform_factory):
    platform = platform_factory()
    sw = platform.switch
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    _login(desk, platform, "una")
    wait_until(lambda: _phone(sw, "una").get("registered") is True, what="una's phone known")
    # icm hears nothing, the phone signs off, the connection drops: the event is lost
    assert esl.api("sim_pause_esl 30").startswith("+OK")
    assert esl.api("sim_unregister 1301").startswith("+OK")
    assert esl.api("sim_drop_esl").startswith("+OK")
    view = wait_until(
        lambda: _phone(sw, "una").get("registered") is False and _phone(sw, "una"),
        timeout=20,
        what="the resync to find the phone gone",
    )
    assert view["why"] == "phone 1301 not registered (not in the switch's registrations)"
    assert esl.api("sim_register 1301 answer:0.2").startswith("+OK")
    wait_until(lambda: _phone(sw, "una").get("registered") is True, what="una's phone back")
    esl.close()
