"""Toll fraud (issue 18 item 4): every number the platform dials by itself passes the
company's dialling rules for system calls — a waiting caller's (spoofable) number booked as a
call-back, a call-back booked from the IVR or a business system, a campaign's contacts, an
IVR transfer whose target the caller typed — and the originate API's context allow-list
cannot be stepped around with a loopback endpoint."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from rest_framework.test import APIClient

from icm.bus.commands import CommandError
from icm.domain import commands as cmd
from icm.domain.acd.model import Contact, Media, QueuePolicy
from ivr.engine.interpreter import Interpreter
from ivr.engine.text import TextConversation
from ivr.engine.validation import FlowInvalid, validate
from tests.ivr.flows import MemoryFlows, StubServices

SATELLITE = "+881612345678"  # an Iridium number: a classic toll-fraud destination
PREMIUM = "0900 123 4567"  # a UK premium-rate number
LOCAL = "5551234"

# a caller picks where to be transferred: the flow types the target from the caller's digits
DIAL_THROUGH = {
    "start": "ask",
    "nodes": {
        "ask": {
            "type": "collect",
            "prompt": "Enter the number of the person you want, then hash.",
            "variable": "dest",
            "min_digits": 3,
            "max_digits": 16,
            "exits": {"next": "go"},
        },
        "go": {"type": "transfer", "kind": "number", "target": "{dest}", "text": "Connecting."},
    },
}


# --- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [SATELLITE, "00881612345678", PREMIUM, "+1 900 555 0100", "19005550100", "+44 20 7946 0000"],
)
def test_the_default_rules_refuse_premium_satellite_and_international_numbers(number):
    from outbound.domain.dialling_rules import DiallingRules, NumberRefused, check

    with pytest.raises(NumberRefused):
        check(DiallingRules(), number)


def test_the_default_rules_let_national_numbers_through_and_a_company_can_widen_them():
    from outbound.domain.dialling_rules import DiallingRules, NumberRefused, check

    assert check(DiallingRules(), "555-1234") == LOCAL
    uk = DiallingRules(allowed_countries=("44",))
    assert check(uk, "+44 20 7946 0000") == "+442079460000"
    with pytest.raises(NumberRefused, match="blocked"):  # UK premium stays blocked
        check(uk, "+44 909 876 0000")
    home = DiallingRules(home_country_codes=("1",))  # +1 … is domestic in North America
    assert check(home, "+1 212 555 0100") == "+12125550100"


def test_an_allow_list_entry_is_one_number_unless_it_ends_with_a_star():
    from outbound.domain.dialling_rules import on_allow_list

    assert on_allow_list(["+44 20 7946*"], "+442079460123")
    assert on_allow_list(["1001"], "1001") and not on_allow_list(["1001"], "10019")
    assert not on_allow_list(["+44 20 7946*"], "+44909")


# --- a waiting caller asks to be called back ------------------------------------------------


def _acd_with_waiting_caller(ani: str):
    from icm.daemon.acd.messages import CallbackRequested
    from icm.daemon.acd.runtime import AcdRuntime

    sent: list = []
    runtime = AcdRuntime(
        "sw",
        lambda command: sent.append(command) or "+OK job",
        lambda item: None,
        lambda change: None,
        lambda done, why: None,
        load_gateway=lambda: "carrier",
        clock=lambda: 100.0,
    )
    runtime.configure([QueuePolicy("q")], [])  # nobody signed in: the caller waits
    runtime.contact_arrived(Contact("c1", "q", 100.0, ani=ani))
    request = CallbackRequested("c1")
    runtime.callback_requested(request)
    return runtime, request.result.get(timeout=1), sent


def test_a_waiting_callers_spoofed_number_is_not_booked_or_dialled_as_a_call_back():
    runtime, booked, sent = _acd_with_waiting_caller(SATELLITE)
    assert booked is False  # the caller keeps waiting: no call-back to that number
    assert runtime.acd.contacts["c1"].media != Media.CALLBACK
    assert "c1" not in runtime.callbacks
    # and were one booked before the rules changed, the agent's answer dials nothing
    assert runtime.dial_back("c1", SATELLITE, "agent-leg") == ""
    assert not any(isinstance(c, cmd.OriginateCall) or "originate" in str(c) for c in sent)
    assert any(isinstance(c, cmd.HangupLeg) and c.uuid == "agent-leg" for c in sent)


def test_a_waiting_callers_national_number_is_still_called_back():
    runtime, booked, _ = _acd_with_waiting_caller(LOCAL)
    assert booked is True and runtime.callbacks["c1"] == LOCAL


# --- call-backs booked from the IVR or by a business system --------------------------------


@pytest.fixture
def callback_queue(db):
    from icm.models import Queue, Site, Switch

    name = f"tf{uuid.uuid4().hex[:8]}"
    site = Site.objects.create(code=name, name="Toll-fraud site", sip_domain=f"{name}.local")
    Switch.objects.create(site=site, name=name)
    return Queue.objects.create(site=site, name=f"{name}-q", display_name="Sales")


def test_a_call_back_booked_from_the_ivr_outside_the_rules_is_refused(callback_queue):
    from agents.callbacks import CallbackForbidden, book
    from agents.models import ScheduledCallback

    due = timezone.now() + timedelta(minutes=5)
    with pytest.raises(CallbackForbidden, match="dialling rules"):
        book(queue=callback_queue, number=SATELLITE, due_at=due, source="ivr")
    assert not ScheduledCallback.objects.filter(number=SATELLITE).exists()
    assert book(queue=callback_queue, number=LOCAL, due_at=due, source="ivr").number == LOCAL


def test_a_booked_call_back_outside_the_rules_is_never_sent_to_icm(callback_queue, monkeypatch):
    """A row already in the table (booked before the rules changed, or written behind the
    booking's back) fails with the reason at its due time; icm is never asked to ring it."""
    from agents import callbacks
    from agents.models import ScheduledCallback

    now = timezone.now()
    row = ScheduledCallback.objects.create(
        queue=callback_queue, number=SATELLITE, due_at=now, next_attempt_at=now, source="api"
    )
    asked: list = []
    monkeypatch.setattr(
        "icm.client.send",
        lambda *args, **kw: asked.append(args) or {"status": "queued", "contact": "x"},
    )
    callbacks.dispatch_due(now + timedelta(seconds=1))
    row.refresh_from_db()
    assert asked == []
    assert row.status == ScheduledCallback.Status.FAILED
    assert "dialling rules" in row.last_error


# --- campaigns ------------------------------------------------------------------------------


def test_a_campaign_contact_outside_the_rules_is_not_dialled(callback_queue):
    from outbound.dialer import lease
    from outbound.models import Attempt, Campaign, Contact

    campaign = Campaign.objects.create(
        name="tf-renewals",
        display_name="Renewals",
        state="running",
        queue=callback_queue,
        gateway="carrier",
        windows=[{"days": list(range(7)), "start": "00:00", "end": "00:00"}],
    )
    bad = Contact.objects.create(campaign=campaign, number=SATELLITE)
    premium = Contact.objects.create(campaign=campaign, number="09001234567")
    good = Contact.objects.create(campaign=campaign, number=LOCAL)
    attempts = lease(campaign, 10, datetime.now(tz=UTC))
    assert [a.number for a in attempts] == [LOCAL]
    assert not Attempt.objects.filter(contact__in=[bad, premium]).exists()
    for contact in (bad, premium):
        contact.refresh_from_db()
        assert (contact.status, contact.last_result) == ("refused", "dialling_rules")
    good.refresh_from_db()
    assert good.status == "dialing"


def test_icm_refuses_a_campaign_dial_outside_the_rules_on_its_own():
    """The bus is a trust boundary: icm checks the number of a campaign_dial itself."""
    from icm.daemon.campaigns.dialer import CampaignDialer

    dialer = CampaignDialer(
        "sw", None, None, None, None, lambda item: None, lambda update: None, "127.0.0.1:8084"
    )
    with pytest.raises(CommandError, match="dialling rules"):
        dialer.dial(
            {
                "key": "k1",
                "campaign": "c",
                "number": SATELLITE,
                "gateway": "carrier",
                "mode": "progressive",
                "queue": "q",
            }
        )
    assert dialer.calls == {}


# --- IVR transfers --------------------------------------------------------------------------


def test_a_transfer_target_typed_by_the_caller_needs_an_allow_list_to_be_published():
    with pytest.raises(FlowInvalid, match="allowed_numbers"):
        validate(DIAL_THROUGH, "dial-through")
    graph = {**DIAL_THROUGH, "nodes": {**DIAL_THROUGH["nodes"]}}
    graph["nodes"]["go"] = {**graph["nodes"]["go"], "allowed_numbers": ["+44 20 7946*"]}
    validate(graph, "dial-through")  # with one it may be published


def _transfer(graph, digits, transfer_check=None):
    interpreter = Interpreter(MemoryFlows({"main": graph}), transfer_check)
    conversation = TextConversation(interpreter, StubServices())
    run, reply = conversation.start("main", {"ani": LOCAL, "dnis": "8000"})
    return run, conversation.answer(run, digits)


def test_a_published_dial_through_flow_refuses_the_callers_number_at_run_time():
    """A flow stored before the rule (never validated against it) still cannot send the
    caller to a number it typed: the transfer fails safely (apology, hang-up)."""
    run, reply = _transfer(DIAL_THROUGH, "00881612345678#")
    assert reply.outcome["action"] == "hangup"
    assert "allow-list" in run.last_error


def test_a_typed_target_must_be_on_the_nodes_allow_list_and_pass_the_company_rules():
    graph = {**DIAL_THROUGH, "nodes": {**DIAL_THROUGH["nodes"]}}
    graph["nodes"]["go"] = {**graph["nodes"]["go"], "allowed_numbers": "+44 20 7946*\n+881*"}
    run, reply = _transfer(graph, "0900123456#")
    assert reply.outcome["action"] == "hangup" and "allowed numbers" in run.last_error
    _, reply = _transfer(graph, "00442079460001#")
    assert reply.outcome["params"] == {"kind": "number", "target": "00442079460001"}
    # on the node's list, but the company's rules refuse satellite numbers
    run, reply = _transfer(
        graph,
        "00881612345678#",
        lambda kind, target: "" if target.startswith("0044") else "satellite numbers are blocked",
    )
    assert reply.outcome["action"] == "hangup" and "satellite" in run.last_error


def test_icm_checks_ivr_transfer_targets_against_the_company_rules(db):
    from icm.models import Extension, Site
    from outbound.dialling import transfer_refusal
    from outbound.models import DiallingRuleSet

    site = Site.objects.create(code="tfx", name="Transfer site", sip_domain="tfx.local")
    Extension.objects.create(site=site, number="1001", password="x")
    assert transfer_refusal("extension", "1001") == ""  # inside the switch
    assert transfer_refusal("number", "+881612345678") != ""
    assert transfer_refusal("extension", "0900123456") != ""  # an "extension" to a carrier
    DiallingRuleSet.objects.create(allowed_countries="44")
    assert transfer_refusal("number", "+442079460001") == ""


# --- the originate API ----------------------------------------------------------------------


@pytest.fixture
def controller(db):
    user = User.objects.create_user("tf-ctl", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="view_call"), Permission.objects.get(codename="change_call")
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    "endpoint",
    ["loopback/1001/evil-context", "loopback/1001/public", "loopback/1001/default/inline"],
)
def test_the_originate_api_refuses_a_loopback_into_a_context_it_does_not_allow(
    controller, endpoint
):
    body = {"endpoint": endpoint, "destination": "1002", "switch": "nobody-home"}
    response = controller.post("/api/calls/originate/", body, format="json")
    assert response.status_code == 403, response.content
    assert "not allowed" in response.json()["detail"] or "XML" in response.json()["detail"]


def test_the_originate_api_refuses_a_number_outside_the_rules(controller):
    body = {"endpoint": "user/1001", "destination": "00881612345678", "switch": "nobody-home"}
    response = controller.post("/api/calls/originate/", body, format="json")
    assert response.status_code == 403, response.content
    assert "dialling rules" in response.json()["detail"]


def test_icm_refuses_a_loopback_originate_into_another_context_on_its_own():
    from icm.daemon.calls.commands import CallCommands

    sent: list = []
    commands = CallCommands("sw", None, None, sent.append, sent.append)
    with pytest.raises(CommandError, match="not allowed"):
        commands.originate({"endpoint": "loopback/1001/evil-context", "destination": "1002"})
    assert sent == []
