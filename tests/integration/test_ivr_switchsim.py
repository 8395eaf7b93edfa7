"""IVR flows on real calls through switchsim: menu → account number → SQL look-up → the
balance spoken by TTS → the right queue with the data attached; live swap of versions."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from icm.models import Call, InboundRoute, Queue, Site
from ivr.actions import check_publish
from ivr.models import DataConnector, Flow, FlowVersion
from tests.fixtures.esl_client import EventCollector
from tests.fixtures.waiting import wait_until

BANK_FLOW = {
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "Press 1 for your balance, 2 for an agent.",
            "exits": {"1": "account", "2": "agent", "timeout": "agent"},
        },
        "account": {
            "type": "collect",
            "prompt": "Please enter your account number, then hash.",
            "variable": "account",
            "min_digits": 4,
            "max_digits": 10,
            "exits": {"next": "lookup"},
        },
        "lookup": {
            "type": "lookup",
            "connector": "balances",
            "params": {"account": "account"},
            "variable": "balance",
            "outputs": {"holder": "holder"},
            "exits": {"next": "say", "not_found": "unknown", "error": "agent"},
        },
        "say": {
            "type": "play",
            "text": "{holder}, your balance is {balance} dollars.",
            "exits": {"next": "billing"},
        },
        "unknown": {
            "type": "play",
            "text": "We could not find that account.",
            "exits": {"next": "agent"},
        },
        "billing": {
            "type": "enter_queue",
            "queue": "billing",
            "priority": "3",
            "attach": ["account", "balance", "holder"],
        },
        "agent": {"type": "enter_queue", "queue": "support"},
    },
}


@pytest.fixture
def bank(transactional_db):
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS ivr_test_accounts "
            "(number text PRIMARY KEY, balance numeric(12, 2), holder text)"
        )
        cur.execute("INSERT INTO ivr_test_accounts VALUES ('1234', 120.50, 'Ann Lee')")
    site = Site.objects.create(code="ivr", name="IVR site", sip_domain="ivr.local")
    for name in ("billing", "support"):
        Queue.objects.create(site=site, name=name, display_name=name.title())
    DataConnector.objects.create(
        name="balances",
        kind="sql",
        config={
            "database": "default",
            "query": "SELECT balance, holder FROM ivr_test_accounts WHERE number = %(account)s",
        },
    )
    flow = Flow.objects.create(name="bank")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=BANK_FLOW))
    InboundRoute.objects.create(site=site, name="bank", dnis="8200", flow=flow)
    yield flow
    with connection.cursor() as cur:
        cur.execute("DROP TABLE ivr_test_accounts")


def call_of(ani):
    return Call.objects.filter(ani=ani, ended_at__isnull=False).first()


def uuid_of(reply):
    assert reply.startswith("+OK"), reply
    return reply.split()[1]


def test_balance_is_looked_up_spoken_and_the_call_queued_with_its_data(bank, platform):
    events = EventCollector("127.0.0.1", platform.esl_port)
    esl = platform.control()
    uuid_of(esl.api("sim_call 5550111 8200 dtmf=1,1234# patience=12"))
    call = wait_until(lambda: call_of("5550111"), timeout=40, what="the call to end")
    spoken = events.executed("speak")
    assert "flite|kal|Ann Lee, your balance is 120.5 dollars." in spoken, spoken
    prompts = " ".join(events.executed("play_and_get_digits"))
    assert "say:Press 1 for your balance, 2 for an agent." in prompts
    assert "say:Please enter your account number, then hash." in prompts
    assert call.queue.name == "billing"
    assert call.attached_data["ivr"] == {
        "flow": "bank",
        "account": "1234",
        "balance": 120.5,
        "holder": "Ann Lee",
    }
    assert call.attached_data["routing"]["outcome"] == "abandoned"  # nobody signed in
    events.close()
    esl.close()


def test_an_unknown_account_is_told_and_goes_to_an_agent(bank, platform):
    events = EventCollector("127.0.0.1", platform.esl_port)
    esl = platform.control()
    uuid_of(esl.api("sim_call 5550112 8200 dtmf=1,9999# patience=10"))
    call = wait_until(lambda: call_of("5550112"), timeout=40, what="the call to end")
    assert "flite|kal|We could not find that account." in events.executed("speak")
    assert call.queue.name == "support"
    events.close()
    esl.close()


def test_publishing_a_new_version_changes_new_calls_only(bank, platform):
    esl = platform.control()
    events = EventCollector("127.0.0.1", platform.esl_port)
    # the first caller is in the menu (version 1) when version 2 is published
    first = uuid_of(esl.api("sim_call 5550113 8200 dtmf_delay=4 dtmf=2 patience=14"))
    wait_until(
        lambda: events.executed("play_and_get_digits", first),
        timeout=15,
        what="the first caller to hear the menu",
    )
    v2 = {
        **BANK_FLOW,
        "nodes": {**BANK_FLOW["nodes"], "agent": {"type": "enter_queue", "queue": "billing"}},
    }
    check_publish(FlowVersion.objects.create(flow=bank, number=2, graph=v2))
    uuid_of(esl.api("sim_call 5550114 8200 dtmf=2 patience=8"))
    old = wait_until(lambda: call_of("5550113"), timeout=40, what="the first call to end")
    new = wait_until(lambda: call_of("5550114"), timeout=40, what="the second call to end")
    assert old.queue.name == "support"  # finished on version 1
    assert new.queue.name == "billing"  # started on version 2
    events.close()
    esl.close()


def publish_route(dnis, name, graph):
    site = Site.objects.get(code="ivr")
    flow = Flow.objects.create(name=name)
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=graph))
    InboundRoute.objects.create(site=site, name=name, dnis=dnis, flow=flow)


def test_a_recorded_message_is_kept_with_the_call(bank, platform):
    publish_route(
        "8201",
        "memo",
        {
            "start": "r",
            "nodes": {
                "r": {
                    "type": "record",
                    "text": "Tell us why you are calling.",
                    "variable": "memo",
                    "max_seconds": 5,
                    "exits": {"next": "q"},
                },
                "q": {"type": "enter_queue", "queue": "support"},
            },
        },
    )
    esl = platform.control()
    uuid_of(esl.api("sim_call 5550115 8201 record=2 patience=6"))
    call = wait_until(lambda: call_of("5550115"), timeout=40, what="the call to end")
    memo = call.attached_data["ivr"]["memo"]
    # kept with the recordings (absolute), never under the switch's sound prefix
    recording = Path(memo)
    assert recording.parent == Path(settings.IPBX_RECORDINGS_DIR) / "ivr", memo
    assert recording.name.startswith("memo-r-") and memo.endswith(".wav")
    with wave.open(str(recording)) as w:
        assert abs(w.getnframes() / w.getframerate() - 2.0) < 0.3
    esl.close()


def test_a_transfer_node_sends_the_caller_to_the_extension(bank, platform):
    publish_route(
        "8202",
        "to-desk",
        {
            "start": "t",
            "nodes": {
                "t": {
                    "type": "transfer",
                    "kind": "extension",
                    "target": "1101",
                    "text": "Connecting you to the front desk.",
                }
            },
        },
    )
    events = EventCollector("127.0.0.1", platform.esl_port)
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    uuid_of(esl.api("sim_call 5550116 8202 talk=1"))
    call = wait_until(lambda: call_of("5550116"), timeout=40, what="the call to end")
    assert "flite|kal|Connecting you to the front desk." in events.executed("speak")
    assert any("1101" in leg.channel_name for leg in call.legs.all())
    assert call.bridged_at is not None
    events.close()
    esl.close()


def test_a_transfer_to_an_agent_rings_that_agents_phone(bank, platform):
    from agents.models import Agent
    from icm.models import Extension

    ext = Extension.objects.create(site=Site.objects.get(code="ivr"), number="1102", password="x")
    Agent.objects.create(login_id="maria", name="Maria", extension=ext)
    publish_route(
        "8203",
        "to-maria",
        {"start": "t", "nodes": {"t": {"type": "transfer", "kind": "agent", "target": "maria"}}},
    )
    esl = platform.control()
    esl.api("sim_register 1102 answer:0.2")
    uuid_of(esl.api("sim_call 5550117 8203 talk=1"))
    call = wait_until(lambda: call_of("5550117"), timeout=40, what="the call to end")
    assert any("1102" in leg.channel_name for leg in call.legs.all())
    esl.close()


def test_the_editor_simulator_reads_live_icm_values_over_the_bus(bank, platform, settings):
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    settings.IPBX_SWITCH_NAME = platform.switch
    graph = {
        "start": "n",
        "nodes": {
            "n": {
                "type": "icm_value",
                "metric": "queue_length",
                "queue": "billing",
                "variable": "waiting",
                "exits": {"next": "say", "error": "oops"},
            },
            "say": {
                "type": "play",
                "text": "{waiting} callers are waiting.",
                "exits": {"next": "q"},
            },
            "oops": {"type": "play", "text": "No figures.", "exits": {"next": "q"}},
            "q": {"type": "enter_queue", "queue": "billing"},
        },
    }
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("sim", "s@example.com", "pw"))
    esl = platform.control()
    uuid_of(esl.api("sim_call 5550118 8200 dtmf=1,1234# patience=20"))  # waits in billing
    wait_until(
        lambda: Call.objects.filter(ani="5550118", queue__name="billing").exists(),
        timeout=30,
        what="the caller to wait in billing",
    )
    reply = client.post("/api/ivr/flows/bank/simulate/", {"graph": graph}, format="json").json()
    assert reply["messages"][0] == "1 callers are waiting."
    graph["nodes"]["n"]["queue"] = "nowhere"
    reply = client.post("/api/ivr/flows/bank/simulate/", {"graph": graph}, format="json").json()
    assert reply["messages"][0] == "No figures."
    esl.close()


def test_a_prompt_of_several_spoken_parts_is_heard_and_digits_collected(bank, platform):
    """FreeSWITCH opens every part of a file_string as a file: `say:` parts there play
    nothing (and collect nothing); several TTS parts go as `tts://engine|voice|text`."""
    publish_route(
        "8202",
        "two-parts",
        {
            "start": "c",
            "nodes": {
                "c": {
                    "type": "collect",
                    "variable": "code",
                    "min_digits": 2,
                    "max_digits": 4,
                    "prompt": ["Welcome to the bank.", "Enter your code, then hash."],
                    "exits": {"next": "q"},
                },
                "q": {"type": "enter_queue", "queue": "support", "attach": ["code"]},
            },
        },
    )
    events = EventCollector("127.0.0.1", platform.esl_port)
    esl = platform.control()
    uuid_of(esl.api("sim_call 5550116 8202 dtmf=42# patience=8"))
    call = wait_until(lambda: call_of("5550116"), timeout=40, what="the call to end")
    prompts = " ".join(events.executed("play_and_get_digits"))
    assert "tts://flite|kal|Welcome to the bank.!tts://flite|kal|Enter your code" in prompts
    assert "say:" not in prompts
    assert call.attached_data["ivr"]["code"] == "42"
    events.close()
    esl.close()
