"""Issue 18 item 1 (validators): a pattern ending in `$` also matches before a trailing
newline, so "1001\\n" passed `digits_validator`, outbound's NUMBER and the call-back number,
and a newline is how a value breaks out of a switch command line. Validators end in `\\Z`
(or use fullmatch): the model, the API and its serializers refuse such a value, and none
reaches the database."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from rest_framework import serializers
from rest_framework.test import APIClient

from agents.models import ScheduledCallback
from icm.api.serializers import HangupSerializer, OriginateSerializer
from icm.models import CustomerNumber, Extension, Gateway, InboundRoute, Queue, RoutingRule, Site
from outbound.models import Campaign, Contact, DoNotCall

pytestmark = pytest.mark.django_db

FIELDS = [
    (Extension, "number", "1001"),
    (Extension, "caller_id_number", "5550100"),
    (Gateway, "caller_id_number", "5550100"),
    (InboundRoute, "dnis", "8000"),
    (RoutingRule, "dnis", "8000"),
    (RoutingRule, "caller_prefix", "+4420"),
    (CustomerNumber, "number", "+15550101"),
    (Contact, "number", "+15550101"),
    (DoNotCall, "number", "15550101"),
    (Campaign, "caller_id_number", "5550100"),
    (ScheduledCallback, "number", "+15550101"),
]


def _errors(instance) -> dict:
    try:
        instance.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


@pytest.mark.parametrize(
    ("model", "field", "good"), FIELDS, ids=[f"{m.__name__}.{f}" for m, f, _ in FIELDS]
)
def test_full_clean_refuses_a_trailing_newline(model, field, good):
    assert field not in _errors(model(**{field: good}))
    assert field in _errors(model(**{field: good + "\n"}))


@pytest.mark.parametrize(
    ("serializer", "field", "good"),
    [
        (OriginateSerializer, "endpoint", "user/1001"),
        (OriginateSerializer, "destination", "9100"),
        (OriginateSerializer, "caller_id_number", "5550100"),
        (HangupSerializer, "cause", "NORMAL_CLEARING"),
    ],
)
def test_api_fields_refuse_a_trailing_newline_even_untrimmed(serializer, field, good):
    """DRF trims whitespace first today; the pattern itself must not rely on that."""
    validating = serializer().fields[field]
    validating.run_validators(good)
    with pytest.raises(serializers.ValidationError):
        validating.run_validators(good + "\n")


def test_the_routing_api_never_stores_a_newline():
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("nl", "nl@example.com", "pw"))
    site = Site.objects.create(code="nl", name="NL", sip_domain="nl.local")
    queue = Queue.objects.create(site=site, name="nlq", display_name="NL")
    body = {
        "name": "nl",
        "priority": 1,
        "dnis": "8000\n",
        "caller_prefix": "44\n",
        "queue": queue.name,
        "when": "always",
    }
    response = client.post("/api/config/routing-rules/", body, format="json")
    assert response.status_code in (201, 400), response.content
    assert not RoutingRule.objects.filter(dnis__contains="\n").exists()
    assert not RoutingRule.objects.filter(caller_prefix__contains="\n").exists()


@pytest.mark.parametrize("login_id", ["ag1\n", "ag 1", "ag1,x=1", "${x}", "ag'1", "a" * 33])
def test_an_agent_id_is_plain_characters_only(login_id):
    # the agent ID goes onto the bus and into switch variables (ipbx_agent=…)
    from agents.models import Agent

    with pytest.raises(ValidationError) as refused:
        Agent(login_id=login_id, name="Hostile").full_clean(exclude=["phone_bar_password"])
    assert "login_id" in refused.value.message_dict
    Agent(login_id="ag-1.x_2", name="Plain").full_clean(exclude=["phone_bar_password"])
