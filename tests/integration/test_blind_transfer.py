"""Blind transfer from the desktop (issue 20 item 10, AG-9/AG-13), through switchsim and icm:
an agent on a call sends the customer to another agent (its phone rings; once it answers the
customer talks to it and the first agent wraps up) or to an outside number (through the
company's trunk, under the dialling rules). The customer ends up bridged with the target
(switchsim's channel state), the CDR keeps every leg of the call and the contact counts as
transferred. A transfer the target cannot take is refused with a clear reason and the call
stays with the first agent."""

from __future__ import annotations

import time

import pytest

from agents.actions import DesktopRefused, check_desktop_command
from agents.models import Agent, DialRule
from icm.bus.commands import CommandError
from icm.models import Call, CallLeg, Gateway, Site, Switch
from stats.models import ContactFact
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import call_center, set_state, transitions  # noqa: F401


def state_of(agent: str) -> str:
    found = transitions(agent)
    return found[-1][1] if found else "logged_out"


def partner(esl, uuid: str) -> str:
    return esl.api(f"uuid_getvar {uuid} bridge_channel").strip()


def agent_on_a_call(call_center, platform_factory, ani: str):  # noqa: F811
    """ag1 talks to a caller of the help desk; ag2 is signed in and ready."""
    platform = platform_factory()
    Switch.objects.filter(name=platform.switch).update(site=Site.objects.get(code="acd"))
    Gateway.objects.create(
        switch=Switch.objects.get(name=platform.switch),
        name="carrier",
        proxy="198.51.100.10",
        caller_id_number="3212345678",
    )
    esl = platform.control()
    for ext in ("1101", "1102", "1103"):
        esl.api(f"sim_register {ext} answer:0.5")
    set_state(call_center, platform, "ag1", "login")
    assert esl.api(f"sim_call {ani} 8123 talk=120").startswith("+OK")
    wait_until(lambda: state_of("ag1") == "on_call", timeout=20, what="ag1 on the call")
    call = wait_until(
        lambda: Call.objects.filter(ani=ani, bridged_at__isnull=False).first(),
        what="the caller bridged to ag1",
    )
    set_state(call_center, platform, "ag2", "login")
    return platform, esl, call


def customer_leg(call: Call) -> CallLeg:
    return CallLeg.objects.get(call=call, uuid=call.call_uuid)


def test_a_blind_transfer_to_an_agent_rings_it_and_connects_the_customer_to_it(
    call_center,  # noqa: F811
    platform_factory,
):
    platform, esl, call = agent_on_a_call(call_center, platform_factory, "5550401")
    ag1 = Agent.objects.get(login_id="ag1")
    done = check_desktop_command(
        ag1, platform.switch, "transfer", {"kind": "agent", "target": "ag2", "note": "invoice 7"}
    )
    assert (done["kind"], done["target"]) == ("agent", "ag2")
    wait_until(lambda: state_of("ag1") == "wrap_up", what="ag1 freed into wrap-up at once")
    wait_until(
        lambda: "1102" in partner(esl, call.call_uuid),
        timeout=20,
        what="the customer bridged with ag2's phone",
    )
    wait_until(lambda: state_of("ag2") == "on_call", what="ag2 on the call")
    assert ("ready", "reserved") in [(t[0], t[1]) for t in transitions("ag2")]
    legs = {leg.channel_name.split("/")[-1].split("@")[0]: leg for leg in call.legs.all()}
    assert {"1101", "1102"} <= set(legs), legs  # the CDR keeps both agents' legs
    assert legs["1101"].hungup_at is not None
    wait_until(
        lambda: customer_leg(call).other_leg_uuid == legs["1102"].uuid,
        what="the CDR: the customer's leg now with ag2's",
    )
    assert esl.api(f"uuid_kill {call.call_uuid}").startswith("+OK")
    wait_until(lambda: state_of("ag2") == "wrap_up", what="ag2 wraps up as the queue's agent")
    fact = wait_until(
        lambda: ContactFact.objects.filter(call_uuid=call.call_uuid, agent="ag1").first(),
        timeout=20,
        what="ag1's contact fact",
    )
    assert fact.transferred
    esl.close()


def test_a_blind_transfer_to_an_outside_number_goes_through_the_trunk(
    call_center,  # noqa: F811
    platform_factory,
):
    platform, esl, call = agent_on_a_call(call_center, platform_factory, "5550402")
    assert esl.api("sim_far_end 5550999 answered ring=0.3 talk=60").startswith("+OK")
    # through the REST API this time (a business system or a team leader for the agent)
    r = call_center.post(
        "/api/agents/ag1/transfer/", {"kind": "number", "target": "555 0999"}, format="json"
    )
    assert r.status_code == 200, r.content
    assert (r.json()["kind"], r.json()["target"]) == ("number", "5550999")
    wait_until(
        lambda: "5550999@carrier" in partner(esl, call.call_uuid),
        timeout=20,
        what="the customer bridged with the outside number",
    )
    wait_until(lambda: state_of("ag1") == "wrap_up", what="ag1 in wrap-up")
    outside = wait_until(
        lambda: CallLeg.objects.filter(call=call, channel_name__contains="5550999").first(),
        what="the outside leg in the call's CDR",
    )
    wait_until(
        lambda: customer_leg(call).other_leg_uuid == outside.uuid,
        what="the CDR: the customer's leg now with the outside leg",
    )
    shown = esl.api(f"uuid_getvar {outside.uuid} origination_caller_id_number").strip()
    assert shown == "3212345678"  # the company's number, never the customer's
    wait_until(
        lambda: (
            CallLeg.objects.filter(call=call, channel_name__contains="1101")
            .exclude(hungup_at=None)
            .exists()
        ),
        what="ag1's leg ended",
    )
    esl.api("hupall NORMAL_CLEARING")
    fact = wait_until(
        lambda: ContactFact.objects.filter(call_uuid=call.call_uuid, agent="ag1").first(),
        timeout=20,
        what="ag1's contact fact",
    )
    assert fact.transferred
    esl.close()


@pytest.mark.parametrize(
    ("kind", "target", "error"),
    [
        ("agent", "nobody", "there is no agent 'nobody'"),
        ("agent", "ag3", "agent ag3 is not ready: it cannot take a transfer now"),
        ("agent", "ag1", "you cannot transfer a call to yourself"),
        ("number", "12ab", "is not a phone number"),
        ("number", "1900 555 1234", "Premium-rate numbers need a senior agent."),
    ],
    ids=["unknown-agent", "not-ready-agent", "oneself", "invalid-number", "forbidden-number"],
)
def test_a_transfer_the_target_cannot_take_is_refused_and_the_call_stays(
    call_center,  # noqa: F811
    platform_factory,
    kind,
    target,
    error,
):
    DialRule.objects.create(
        name="Premium rate",
        pattern=r"^1900",
        minimum_level=Agent.Level.SENIOR,
        message="Premium-rate numbers need a senior agent.",
    )
    platform, esl, call = agent_on_a_call(call_center, platform_factory, "5550403")
    set_state(call_center, platform, "ag3", "login_not_ready")
    ag1 = Agent.objects.get(login_id="ag1")
    with pytest.raises((DesktopRefused, CommandError), match=error.replace("(", r"\(")):
        check_desktop_command(ag1, platform.switch, "transfer", {"kind": kind, "target": target})
    r = call_center.post(  # the REST API says the same
        "/api/agents/ag1/transfer/", {"kind": kind, "target": target}, format="json"
    )
    assert r.status_code == 400 and error in r.json()["detail"]
    time.sleep(1)  # nothing happens: no ring, no music, the agent keeps the customer
    assert "1101" in partner(esl, call.call_uuid)
    assert state_of("ag1") == "on_call" and state_of("ag2") == "ready"
    assert not CallLeg.objects.filter(call=call, channel_name__contains="1102").exists()
    esl.api("hupall NORMAL_CLEARING")
    esl.close()
