"""The demo flows through the text front-end with the real SQL connector: language choice,
VIP routing by grade, the account-balance sub-flow and night service."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from ivr.connectors import registry
from ivr.engine.interpreter import Interpreter
from ivr.engine.text import TextConversation
from ivr.flow_source import DbFlows
from ivr.services import FlowServices

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    registry.forget_cache()
    call_command("load_demo", verbosity=0)
    return TextConversation(Interpreter(DbFlows()), FlowServices(lambda m, q: 0))


def test_a_vip_caller_goes_first_to_vip_skilled_agents(demo):
    run, reply = demo.start("main-menu", {"ani": "5550101", "customer_grade": "vip"})
    reply = demo.answer(run, "1")
    assert reply.messages[0] == "Welcome to the IPBX demo company."
    assert reply.outcome["params"] == {"queue": "support", "priority": 10, "skills": {"vip": 5}}


def test_the_balance_is_read_from_the_billing_database_in_the_chosen_language(demo):
    run, reply = demo.start("main-menu", {"ani": "5550199", "customer_grade": "standard"})
    assert reply.messages == ["For English press 1. Para español oprima 2."]
    reply = demo.answer(run, "2")
    assert reply.messages[0] == "Bienvenido a la empresa de demostración IPBX."
    reply = demo.answer(run, "1")  # balance
    assert reply.messages == ["Marque su número de cuenta y después la tecla numeral."]
    reply = demo.answer(run, "10001#")
    assert reply.messages[:2] == ["Acme Logistics, su saldo es", "37.5"]
    assert reply.outcome["params"]["queue"] == "billing"
    assert reply.outcome["variables"]["account"] == "10001"


def test_an_account_with_a_quote_finds_nothing_and_harms_nothing(demo):
    run, _ = demo.start("main-menu", {"ani": "1", "customer_grade": "standard"})
    demo.answer(run, "1")
    demo.answer(run, "1")
    reply = demo.answer(run, "1000'1#")  # the keypad strips the quote; so does the SQL binding
    assert reply.outcome["params"]["queue"] == "billing"
    assert registry.lookup("demo-balances", {"account": "10001' OR '1'='1"}) == {}


def test_night_service_offers_a_message_or_the_on_duty_team(demo):
    run, reply = demo.start("night-service", {"ani": "5550199"})
    assert reply.messages[0].startswith("Our offices are closed.")
    assert demo.answer(run, "1").outcome["action"] == "voicemail"
    run, _ = demo.start("night-service", {"ani": "5550199"})
    assert demo.answer(run, "").outcome["params"]["queue"] == "support"
