"""An icm killed with -9 keeps its callers (issue 21, finding 2): callers waiting in a queue
come back through the switch's dialplan to the new icm at their old places, a caller in the
middle of its IVR flow starts the flow again, a phone ringing for the dead icm's offer is
stopped before anything else is offered, a bridged call stays bridged; afterwards every call
reaches an agent exactly once and has one complete CDR."""

from __future__ import annotations

import pytest

from agents.models import AgentSessionState
from icm.models import Call, CallLeg, InboundRoute, Queue, Site
from ivr.actions import check_publish
from ivr.models import Flow, FlowVersion
from tests.fixtures.processes import start_icm
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import call_center, set_state, transitions  # noqa: F401
from tests.integration.test_icm_restart_agents import live_state

MENU_FLOW = {
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "Press 1 for sales.",
            "timeout": "4",
            "retries": "1",
            "exits": {"1": "queue", "timeout": "queue"},
        },
        "queue": {"type": "enter_queue", "queue": "helpdesk"},
    },
}

WAITING = ("5550203", "5550204", "5550205")  # in the queue at the kill, in this order


@pytest.fixture
def menu_route(call_center):  # noqa: F811
    flow = Flow.objects.create(name="crashmenu")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=MENU_FLOW))
    site = Site.objects.get(code="acd")
    InboundRoute.objects.create(site=site, name="menu", dnis="8124", flow=flow)
    Queue.objects.filter(name="helpdesk").update(
        strategy_parameters={"ring_timeout": 12}, wrap_up_seconds=1
    )
    return call_center


def calls(ani: str) -> list[Call]:
    return list(Call.objects.filter(ani=ani))


def phone_legs(extension: str, ani: str) -> list[CallLeg]:
    return list(CallLeg.objects.filter(call__ani=ani, channel_name__contains=f"/{extension}@"))


def test_callers_in_the_ivr_and_the_queue_survive_an_icm_kill(menu_route, platform_factory):
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    esl.api("sim_register 1102 answer:9")  # rings long enough to be ringing at the kill
    set_state(menu_route, platform, "ag1", "login")
    talking = esl.api("sim_call 5550201 8123 talk=600").split()[1]
    wait_until(lambda: ("reserved", "on_call", "") in transitions("ag1"), timeout=20, what="A")
    set_state(menu_route, platform, "ag2", "login")
    assert esl.api("sim_call 5550202 8123 talk=1").startswith("+OK")  # rings ag2 at the kill
    wait_until(
        lambda: AgentSessionState.objects.filter(agent__login_id="ag2", state="reserved").exists(),
        timeout=20,
        what="ag2's phone to ring (its session saved)",
    )
    for n, ani in enumerate(WAITING, start=3):
        assert esl.api(f"sim_call {ani} 8123 talk=1").startswith("+OK")
        wait_until(
            lambda n=n: platform.icm.log().count("handed to queue helpdesk") >= n,
            what=f"{ani} in the queue",
        )
    assert esl.api("sim_call 5550206 8124 talk=1").startswith("+OK")
    platform.icm.wait_log("flow crashmenu v1 started", timeout=20)

    platform.icm.crash()  # kill -9 while ag2's phone rings, three wait and one is in the menu
    esl.api("sim_register 1102 answer:0.2")  # ag2 answers its next calls at once
    platform.icm = start_icm(platform.switch, platform.esl_port, platform.outbound_port)
    platform.icm.wait_log("agent ag1: back on its call", timeout=30)

    everyone = ("5550202", *WAITING, "5550206")
    for ani in everyone:
        wait_until(
            lambda ani=ani: Call.objects.filter(ani=ani, ended_at__isnull=False).exists(),
            timeout=60,
            what=f"the call from {ani} to reach ag2 and end",
        )
    log = platform.icm.log()
    assert "rang for a lost offer: stopped" in log  # the old offer's phone was stopped
    assert "back from a lost icm session: queue helpdesk" in log

    answered = []
    for ani in everyone:
        (call,) = calls(ani)  # one CDR per call
        assert call.agent is not None and call.agent.login_id == "ag2", ani
        assert call.attached_data["routing"]["outcome"] == "answered", ani
        bridged = [leg for leg in phone_legs("1102", ani) if leg.bridged_at is not None]
        assert len(bridged) == 1, f"{ani} reached ag2 {len(bridged)} times"
        answered.append((bridged[0].bridged_at, ani))
    # the callers who waited kept their places: the one being offered first, then the queue
    # in its order; the caller in the menu entered the queue again after them
    assert [ani for _, ani in sorted(answered)] == list(everyone)
    # ag2 was never rung for two calls at once: each offer ended before the next began
    offers = sorted(
        CallLeg.objects.filter(channel_name__contains="/1102@").values_list(
            "created_at", "hungup_at"
        )
    )
    for (_, ended), (began, _) in zip(offers, offers[1:], strict=False):
        assert ended is not None and ended <= began

    # the call bridged at the kill is still up and ag1 is still on it
    assert esl.api(f"uuid_exists {talking}").strip() == "true"
    assert live_state(platform.switch, "ag1") == "on_call"
    assert esl.api(f"uuid_kill {talking}").startswith("+OK")
    wait_until(lambda: calls("5550201")[0].ended_at is not None, what="A's CDR to be complete")
    assert len(calls("5550201")) == 1 and calls("5550201")[0].agent.login_id == "ag1"
    esl.close()


@pytest.mark.parametrize("order", ["back_before_the_resync", "back_after_the_queues_opened"])
def test_callers_coming_back_before_or_after_the_resync_are_offered_once(
    menu_route, platform_factory, order
):
    """Both orders of the race between a kept caller's return and the new icm's resync: the
    phone still ringing for the dead icm's offer is stopped before any new offer, and each
    caller reaches the agent exactly once."""
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1102 answer:9")
    set_state(menu_route, platform, "ag2", "login")
    assert esl.api("sim_call 5550301 8123 talk=1").startswith("+OK")
    wait_until(
        lambda: AgentSessionState.objects.filter(agent__login_id="ag2", state="reserved").exists(),
        timeout=20,
        what="ag2's phone to ring (its session saved)",
    )
    for n, ani in enumerate(("5550302", "5550303"), start=2):
        assert esl.api(f"sim_call {ani} 8123 talk=1").startswith("+OK")
        wait_until(
            lambda n=n: platform.icm.log().count("handed to queue helpdesk") >= n,
            what=f"{ani} in the queue",
        )
    before = len(platform.icm.log())

    def new_log() -> str:
        return platform.icm.log()[before:]

    hold = "sim_hold_esl" if order == "back_before_the_resync" else "sim_hold_sockets"
    assert esl.api(f"{hold} 60").startswith("+OK")
    platform.icm.crash()
    esl.api("sim_register 1102 answer:0.2")
    platform.icm = start_icm(platform.switch, platform.esl_port, platform.outbound_port)
    if order == "back_before_the_resync":
        wait_until(
            lambda: new_log().count("held until the queues open") >= 3,
            timeout=30,
            what="the three callers back and held",
        )
        assert "resync with" not in new_log() and "ringing agent" not in new_log()
    else:
        platform.icm.wait_log("queues open (resynced): 0 callers", timeout=30)
        assert "back from a lost icm session" not in new_log()
    assert esl.api(f"{hold} 0").startswith("+OK")

    for ani in ("5550301", "5550302", "5550303"):
        wait_until(
            lambda ani=ani: Call.objects.filter(ani=ani, ended_at__isnull=False).exists(),
            timeout=60,
            what=f"the call from {ani} to reach ag2 and end",
        )
        (call,) = calls(ani)
        assert call.agent.login_id == "ag2"
        assert call.attached_data["routing"]["outcome"] == "answered"
        bridged = [leg for leg in phone_legs("1102", ani) if leg.bridged_at is not None]
        assert len(bridged) == 1, f"{ani} reached ag2 {len(bridged)} times"
    text = new_log()
    stopped = text.index("rang for a lost offer: stopped")
    assert stopped < text.index("ringing agent ag2")  # no phone rang for two offers
    offers = sorted(
        CallLeg.objects.filter(channel_name__contains="/1102@").values_list(
            "created_at", "hungup_at"
        )
    )
    for (_, ended), (began, _) in zip(offers, offers[1:], strict=False):
        assert ended is not None and ended <= began
    esl.close()
