"""Answering-machine detection is whatever the switch has (issue 17, defect 5): a stock
FreeSWITCH has no mod_amd (a third-party module), so an AMD campaign used to burn its list —
"Invalid Application amd", every contact "answered" with 0 s talk. Now icm asks the switch
(`module_exists`), the start of a campaign it cannot detect for is refused with the reason,
FreeSWITCH's own mod_avmd (the voicemail beep) is used when mod_amd is missing, and a switch
that hangs legs up during detection pauses the campaign without using up its contacts."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from django.conf import settings

from agents.models import AgentSkill, Skill
from icm.bus.commands import CommandError
from icm.daemon.campaigns.dialer import CampaignDialer
from icm.daemon.freeswitch.render import command_to_api
from icm.domain import commands as cmd
from icm.models import CallLeg, Queue, QueueSkill, Switch, SystemEvent
from outbound.dialer import dials_made, tick
from outbound.domain.amd import NoDetection, choose
from outbound.domain.campaign_call_state import CallState
from outbound.models import Attempt, Campaign, Contact
from supervision.models import AuditEntry
from tests.fixtures.processes import start_switchsim
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import (
    client_for,
    teams,  # noqa: F401
)

ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]
NO_DETECTION = (
    "the switch has no answering-machine detection: mod_amd is not loaded and mod_avmd is not"
)


# --- which module (pure) --------------------------------------------------------------------
def test_the_module_follows_what_the_switch_has():
    assert choose("auto", {"mod_amd": True, "mod_avmd": True}) == "mod_amd"
    assert choose("auto", {"mod_amd": False, "mod_avmd": True}) == "mod_avmd"
    assert choose("mod_avmd", {"mod_amd": True, "mod_avmd": True}) == "mod_avmd"
    with pytest.raises(NoDetection, match=NO_DETECTION):
        choose("auto", {"mod_amd": False, "mod_avmd": False})
    with pytest.raises(NoDetection, match="no mod_amd .*mod_avmd is loaded"):
        choose("mod_amd", {"mod_amd": False, "mod_avmd": True})
    with pytest.raises(NoDetection, match="no mod_avmd loaded"):
        choose("mod_avmd", {"mod_amd": True, "mod_avmd": False})


# --- icm's dialer against a scripted switch -------------------------------------------------
def _redis() -> redis.Redis:
    """The test Redis, without the attempt keys these tests dial (k1, k2)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("ipbx:attempt:k1", "ipbx:attempt:k2")
    return client


def _dialer(modules: dict[str, bool]) -> tuple[CampaignDialer, list[str], list[str], list[dict]]:
    apis, sent, log = [], [], []

    def api(command: cmd.SwitchCommand) -> str:
        line = command_to_api(command)  # what the switch would receive
        apis.append(line)
        if line.startswith("module_exists "):
            return "true" if modules.get(line.split()[1]) else "false"
        raise CommandError("No such channel!")

    def bgapi(command: cmd.SwitchCommand) -> str:
        sent.append(command_to_api(command))
        return f"job-{len(sent)}"

    dialer = CampaignDialer(
        "sw1", _redis(), bgapi, api, acd=None, post=lambda item: None, record=log.append
    )
    return dialer, apis, sent, log


def _request(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "campaign": "winback",
        "number": "5550100",
        "gateway": "carrier",
        "mode": "predictive",
        "queue": "sales",
        "amd": True,
        **extra,
    }


def test_icm_refuses_an_amd_attempt_the_switch_cannot_detect_on():
    dialer, apis, sent, _ = _dialer({"mod_amd": False, "mod_avmd": False})
    with pytest.raises(CommandError, match=NO_DETECTION):
        dialer.dial(_request("k1"))
    assert sent == [] and dialer.calls == {}  # nothing claimed, nothing dialed
    assert apis == ["module_exists mod_amd", "module_exists mod_avmd"]
    dialer.dial(_request("k2", amd=False))  # without AMD the campaign dials
    assert apis == ["module_exists mod_amd", "module_exists mod_avmd"]  # asked once


def test_a_stock_switch_detects_with_avmd_and_a_missing_module_is_the_switchs_failure():
    dialer, _, sent, log = _dialer({"mod_amd": False, "mod_avmd": True})
    first = dialer.dial(_request("k1"))
    second = dialer.dial(_request("k2", number="5550101"))
    call = dialer.calls[first["leg"]]
    assert call.amd_method == "mod_avmd"
    dialer._originate(call)
    assert sent[-1].endswith("sofia/gateway/carrier/5550100 avmd_start,park inline")
    # the switch hangs the answered leg up at once (its detection application is missing)
    dialer.answered(call.leg, 1000.0)
    assert call.state is CallState.DETECTING
    dialer.hung_up(call.leg, "DESTINATION_OUT_OF_ORDER", 1000.05)
    (ended,) = [u for u in log if "result" in u]
    assert ended["result"] == "switch_failed" and ended["talk_seconds"] is None
    assert ended["hangup_cause"] == "DESTINATION_OUT_OF_ORDER"
    assert second["leg"] not in dialer.calls  # its campaign's queued calls held back
    assert dialer.modules is None  # the modules are asked again


def test_a_person_hanging_up_during_detection_is_still_an_answered_call():
    dialer, _, _, log = _dialer({"mod_amd": True, "mod_avmd": True})
    call = dialer.calls[dialer.dial(_request("k1"))["leg"]]
    assert call.amd_method == "mod_amd"
    dialer._originate(call)
    dialer.answered(call.leg, 1000.0)
    dialer.hung_up(call.leg, "NORMAL_CLEARING", 1003.0)
    (ended,) = [u for u in log if "result" in u]
    assert ended["result"] == "answered" and ended["talk_seconds"] == 3.0


# --- through icm and switchsim --------------------------------------------------------------
def _campaign(teams, platform_factory, *sim_args: str, **fields: Any):  # noqa: F811
    site, users = teams
    skill = Skill.objects.create(name="sales")
    sales = Queue.objects.get(name="support")
    Queue.objects.filter(pk=sales.pk).update(wrap_up_seconds=1)
    QueueSkill.objects.create(queue=sales, skill=skill, minimum_level=1)
    AgentSkill.objects.create(agent=users["agent1"].agent, skill=skill, level=5)
    platform = platform_factory(*sim_args)
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    login = {"state": "login", "switch": platform.switch}
    assert (
        client_for(users["agent1"]).post("/api/agents/ag1/state/", login, format="json").status_code
        == 200
    )
    c = Campaign.objects.create(
        **{
            "name": "winback",
            "display_name": "Win-back",
            "mode": "progressive",
            "state": "draft",
            "switch": switch,
            "queue": sales,
            "gateway": "carrier",
            "windows": ALL_DAY,
            "max_attempts": 1,
            "calls_per_second": 5,
            "ring_seconds": 10,
            "amd": True,
            "machine_action": "message",
            "message": "silence_stream://300",
            **fields,
        }
    )
    return c, esl, users, platform


def _start(users, name: str = "winback"):
    return client_for(users["admin"]).post(f"/api/campaigns/{name}/start/", format="json")


def run_until_done(campaign: Campaign, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tick(campaign.pk)
        if not Contact.objects.filter(
            campaign=campaign, status__in=("pending", "dialing")
        ).exists():
            return
        time.sleep(0.3)
    raise AssertionError(repr(list(Attempt.objects.filter(campaign=campaign).values())))


def test_a_switch_without_any_detection_refuses_an_amd_campaign(teams, platform_factory):  # noqa: F811
    c, esl, users, _ = _campaign(teams, platform_factory, "--without-module", "mod_avmd")
    Contact.objects.create(campaign=c, number="5550310")
    try:
        r = _start(users)
        assert r.status_code == 409
        assert NO_DETECTION in r.json()["detail"]
        c.refresh_from_db()
        assert c.state == "draft" and not Attempt.objects.filter(campaign=c).exists()
        assert AuditEntry.objects.filter(action="campaign_start", outcome="refused").exists()
        # a campaign set running behind the platform's back dials nothing: paused, with why
        Campaign.objects.filter(pk=c.pk).update(state="running")
        tick(c.pk)
        c.refresh_from_db()
        assert c.state == "paused" and NO_DETECTION in c.state_reason
        assert not Attempt.objects.filter(campaign=c).exists()
        page = client_for(users["admin"]).get(f"/api/campaigns/{c.name}/").json()
        assert NO_DETECTION in page["state_reason"]
        # without AMD it starts
        Campaign.objects.filter(pk=c.pk).update(amd=False, state="draft")
        assert _start(users).status_code == 200
    finally:
        esl.api("hupall")
        esl.close()


def test_a_stock_switch_detects_machines_by_their_beep(teams, platform_factory):  # noqa: F811
    """No mod_amd (switchsim's default, as a stock build): mod_avmd. A machine beeps after its
    greeting: the campaign's message is left after the beep; a person never beeps: once the
    window is over, an agent takes the call. mod_amd asked for by name is refused."""
    c, esl, users, _ = _campaign(teams, platform_factory, amd_method="mod_amd", amd_window=5)
    try:
        r = _start(users)
        assert r.status_code == 409 and "no mod_amd" in r.json()["detail"]
        Campaign.objects.filter(pk=c.pk).update(amd_method="auto")
        assert _start(users).status_code == 200
        esl.api("sim_far_end 5550321 machine ring=0.2 talk=25 greeting=2.5")
        Contact.objects.create(campaign=c, number="5550321")
        run_until_done(c)
        (machine,) = Attempt.objects.filter(campaign=c, number="5550321")
        assert machine.result == "machine" and machine.answered_at is not None
        assert 2.5 <= machine.talk_seconds < 5  # greeting, beep, the message: not the 25 s
        Campaign.objects.filter(pk=c.pk).update(state="running")  # it had finished its list
        esl.api("sim_far_end 5550322 answered ring=0.2 talk=12")
        Contact.objects.create(campaign=c, number="5550322")
        run_until_done(c)
        (person,) = Attempt.objects.filter(campaign=c, number="5550322")
        assert (person.result, person.agent) == ("answered", "ag1")
        assert person.talk_seconds > 5  # no hang-up at the beep window's end
        # avmd hears only beeps: the person reached the agent once the window was over
        bridged = CallLeg.objects.filter(uuid=person.call_uuid, bridged_at__isnull=False)
        leg = wait_until(bridged.first)
        assert (leg.bridged_at - person.answered_at).total_seconds() >= 5
    finally:
        esl.api("hupall")
        esl.close()


def test_a_switch_that_loses_mod_amd_pauses_the_campaign_and_keeps_the_contacts(
    teams,  # noqa: F811
    platform_factory,
):
    """The campaign started on a switch with mod_amd; the switch comes back without it. No
    contact is logged answered, none uses up an attempt; the campaign is paused with the
    reason, raised as an alarm."""
    c, esl, users, platform = _campaign(
        teams, platform_factory, "--with-module", "mod_amd", amd_method="mod_amd"
    )
    assert _start(users).status_code == 200  # icm asked the switch: mod_amd is there
    esl.close()
    platform.switchsim.stop()
    platform.switchsim = start_switchsim(platform.esl_port, platform.outbound_port)
    connected = f"switch {platform.switch} connected"
    wait_until(lambda: platform.icm.log().count(connected) >= 2, 20)  # icm is back on it
    esl = platform.control()
    try:
        esl.api("sim_register 1301 answer:0.2")
        esl.api("sim_far_end 5550331 answered ring=0.2 talk=20")
        esl.api("sim_far_end 5550332 answered ring=0.2 talk=20")
        for number in ("5550331", "5550332"):
            Contact.objects.create(campaign=c, number=number)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            tick(c.pk)
            c.refresh_from_db()
            if (
                c.state == "paused"
                and not Contact.objects.filter(campaign=c, status="dialing").exists()
            ):
                break
            time.sleep(0.3)
        assert c.state == "paused" and "mod_amd" in c.state_reason, c.state_reason
        # before icm knew (a call the switch hung up) or after (nothing dialed): never answered
        results = set(Attempt.objects.filter(campaign=c).values_list("result", flat=True))
        assert results <= {"switch_failed", ""}, results
        for contact in Contact.objects.filter(campaign=c):
            assert contact.status == "pending" and dials_made(contact) == 0
        assert SystemEvent.objects.filter(kind="alarm_raised", subject=c.name).exists()
    finally:
        esl.api("hupall")
        esl.close()
