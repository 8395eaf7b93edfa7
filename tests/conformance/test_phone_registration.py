"""Conformance (ICM-1): an agent whose phone signs off is offered no call and its live view
says why; the phone registering again gets it the waiting caller — on switchsim, on
switchsim modelling a real switch's races, and on a real FreeSWITCH (a sipp REGISTER with
Expires: 0)."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings

from icm.bus import keys
from tests.conformance.switch import Backend
from tests.conformance.test_scenarios import agent_state, center, ended, start  # noqa: F401
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import transitions
from tests.supervision.conftest import teams  # noqa: F401

pytestmark = pytest.mark.conformance


def phone(backend: Backend, agent: str) -> dict:
    raw = redis.Redis.from_url(settings.REDIS_URL).hget(keys.agents_key(backend.switch), agent)
    return (json.loads(raw).get("phone") or {}) if raw else {}


def test_an_unregistered_phone_is_offered_nothing_until_it_registers(backend, center):  # noqa: F811
    start(backend, center)
    backend.register_phone("1301", "answer:0.3")
    agent_state(backend, center[1], "ag1", "login")
    wait_until(lambda: phone(backend, "ag1").get("registered") is True, what="1301 registered")
    backend.unregister_phone("1301")
    wait_until(
        lambda: phone(backend, "ag1").get("why", "").startswith("phone 1301 not registered"),
        what="the live view to say why",
    )
    backend.call_in("5550481", "8131", talk=1)
    with pytest.raises(AssertionError):  # the caller waits: ag1 is ready but cannot be rung
        wait_until(lambda: ("ready", "reserved", "") in transitions("ag1"), timeout=4)
    backend.register_phone("1301", "answer:0.3")
    call = ended("5550481")
    assert call.agent.login_id == "ag1"
    assert call.attached_data["routing"]["outcome"] == "answered"
