"""The agent desktop in headless Chromium against switchsim: sign in, ready, a known customer
rings with the screen pop, accept, hold and resume on the switch, hang up, wrap-up, history
with a missed offer; one socket per agent; an agent only ever controls its own call."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from agents.models import Agent, AgentSkill, ContactNote, Disposition, Skill
from icm.models import (
    Call,
    CallLeg,
    Customer,
    CustomerNumber,
    Extension,
    InboundRoute,
    Queue,
    QueueSkill,
    Site,
    Switch,
)
from tests.fixtures.esl_client import EventCollector, getvar
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "var" / "test-logs"


@pytest.fixture
def center(transactional_db):
    site = Site.objects.create(code="desk", name="Desk site", sip_domain="desk.local")
    skill = Skill.objects.create(name="support")
    queue = Queue.objects.create(
        site=site,
        name="support",
        display_name="Support",
        strategy="top_down",
        wrap_up_seconds=30,
        strategy_parameters={"ring_timeout": 4},
    )
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=1)
    InboundRoute.objects.create(site=site, name="support", dnis="8124", queue=queue)
    for n in (1, 2):
        ext = Extension.objects.create(site=site, number=f"110{n}", password="x")
        user = User.objects.create_user(f"agent{n}", password="not-the-phone-bar-one")
        agent = Agent.objects.create(login_id=f"ag{n}", name=f"Agent {n}", extension=ext, user=user)
        agent.set_phone_bar_password(f"bar-{n}")
        agent.save()
        AgentSkill.objects.create(agent=agent, skill=skill, level=5)
    Disposition.objects.create(code="resolved", label="Resolved")
    acme = Customer.objects.create(name="Acme Logistics", account="C0001", grade="vip")
    CustomerNumber.objects.create(customer=acme, number="5550101")
    return site


def attach_switch(platform, site):
    Switch.objects.filter(name=platform.switch).update(site=site)


def sign_in(page, web, agent_id, password):
    page.goto(f"{web}/agent/")
    page.fill("input[name=agent_id]", agent_id)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#link[data-up='1']")


def state_is(page, state):
    page.wait_for_selector(f"#state[data-state={state}]")


def test_a_call_from_start_to_history(center, platform, web, page):
    attach_switch(platform, center)
    events = EventCollector("127.0.0.1", platform.esl_port, "CHANNEL_HOLD CHANNEL_UNHOLD")
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")  # the agent answers from the desktop
    sign_in(page, web, "ag1", "bar-1")
    state_is(page, "not_ready")
    page.click("#btn-ready")
    state_is(page, "ready")

    assert esl.api("sim_call 5550101 8124 talk=600").startswith("+OK")
    state_is(page, "reserved")
    page.wait_for_selector("#offer:not([hidden])")
    assert "Acme Logistics" in page.inner_text("#offer-customer")
    assert "VIP" in page.inner_text("#offer-customer")
    assert page.inner_text("#offer-ani") == "5550101"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "agent-desktop-offer.png"))
    page.click("#btn-accept")
    state_is(page, "on_call")
    page.wait_for_selector("#incall:not([hidden])")
    assert "Acme Logistics" in page.inner_text("#incall-customer")

    page.keyboard.press("h")  # hold by keyboard shortcut
    page.wait_for_selector("#incall-label:text('On hold')")
    wait_until(lambda: events.executed_events("CHANNEL_HOLD"), what="the switch to hold")
    page.click("#btn-hold")  # resume
    page.wait_for_selector("#incall-label:text('On call')")
    wait_until(lambda: events.executed_events("CHANNEL_UNHOLD"), what="the switch to unhold")

    # mute: what the agent's phone sends is silenced on the switch, then back
    import json

    from icm.models import CallLeg

    leg = wait_until(
        lambda: CallLeg.objects.filter(call__ani="5550101", channel_name__contains="1101").first(),
        what="the agent's leg",
    )
    page.keyboard.press("m")
    page.wait_for_selector("#btn-mute:text('Unmute')")
    assert json.loads(esl.api(f"sim_audio {leg.uuid}")).get("read_mute") == 1
    page.click("#btn-mute")
    page.wait_for_selector("#btn-mute:text-is('Mute')")  # not 'Unmute'
    assert "read_mute" not in json.loads(esl.api(f"sim_audio {leg.uuid}"))

    page.click("#btn-hangup")
    state_is(page, "wrap_up")
    page.select_option("#disposition", "resolved")
    page.fill("#notes", "Reset the router; customer happy.")
    page.click("#btn-wrap-done")
    state_is(page, "ready")
    note = ContactNote.objects.get(agent__login_id="ag1")
    assert note.disposition.code == "resolved" and note.notes.startswith("Reset the router")
    assert Call.objects.filter(ani="5550101", legs__uuid=note.call_uuid).exists()
    row = page.locator("#history tbody tr", has_text="5550101").first
    row.wait_for()
    assert "answered" in row.inner_text() and "Acme Logistics" in row.inner_text()
    # "my customers" (AG-11): whom the agent served today, with account, queue and times
    mine = page.locator("#customers tbody tr", has_text="Acme Logistics")
    mine.wait_for()
    assert "C0001" in mine.inner_text() and "support" in mine.inner_text()
    # the page refreshes after the call ends, and again once icm has surely written it
    wait_until(lambda: "ended" in mine.inner_text(), timeout=10, what="the call shown ended")

    # the agent's skill group shows who waits (AG-12): nobody now
    assert page.locator("#queues tbody tr[data-queue=support]").count() == 1

    # an offer the agent lets ring out is a missed one in its history
    assert esl.api("sim_call 5550199 8124 talk=600 patience=30").startswith("+OK")
    state_is(page, "reserved")
    page.wait_for_selector("#history tr.outcome-missed", timeout=20_000)
    assert "Unknown caller" not in page.inner_text("#history")
    assert "5550199" in page.inner_text("#history tr.outcome-missed")
    events.close()
    esl.close()


def test_one_socket_per_agent_and_commands_act_on_the_own_call_only(center, platform, web, page):
    attach_switch(platform, center)
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")
    esl.api("sim_register 1102 noanswer")
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    state_is(page, "ready")
    assert esl.api("sim_call 5550101 8124 talk=600").startswith("+OK")
    state_is(page, "reserved")  # ag1's phone rings

    # a second page of the same agent is refused, and can take over explicitly
    second = page.context.new_page()
    second.goto(f"{web}/agent/")
    second.wait_for_selector("#btn-takeover")
    second.click("#btn-takeover")
    second.wait_for_selector("#link[data-up='1']")
    page.wait_for_selector("#link:text('signed in on another page')")
    second.close()

    # agent 2 (own browser session) tries to accept and hang up: nothing of ag1's moves
    other = page.context.browser.new_context().new_page()
    sign_in(other, web, "ag2", "bar-2")
    replies = other.evaluate("""async () => {
        const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws/agent/?takeover=1');
        await new Promise((r) => ws.onopen = r);
        const ask = (id, command, args) => new Promise((resolve) => {
            ws.addEventListener('message', (m) => { const e = JSON.parse(m.data);
                if (e.type === 'reply' && e.id === id) resolve(e); });
            ws.send(JSON.stringify({id, command, args}));
        });
        return [await ask('1', 'accept', {agent: 'ag1'}),
                await ask('2', 'hangup', {agent: 'ag1', uuid: 'anything'})];
    }""")
    assert [r["ok"] for r in replies] == [False, False]
    assert "ag2 has no call ringing" in replies[0]["detail"]
    assert "ag2 is not" in replies[1]["detail"]
    live = esl.api("show channels as json")  # ag1's call still rings
    assert "5550101" in live
    other.close()
    esl.close()


def test_sign_in_refuses_a_wrong_password_and_sockets_need_an_agent(center, web, page):
    page.goto(f"{web}/agent/")
    page.fill("input[name=agent_id]", "ag1")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector("p.error:text('Unknown agent ID or wrong password.')")
    code = page.evaluate("""() => new Promise((resolve) => {
        const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws/agent/');
        ws.onclose = (e) => resolve(e.code);
    })""")
    assert code == 4401
    assert page.request.get(f"{web}/api/agent/desktop/").status in (401, 403)


def test_the_page_reconnects_after_a_web_restart_and_shows_the_same_call(center, platform, page):
    from tests.fixtures.esl_client import free_port
    from tests.fixtures.processes import start_web

    attach_switch(platform, center)
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.3")
    port = free_port()
    web = start_web(port)
    try:
        base = f"http://127.0.0.1:{port}"
        sign_in(page, base, "ag1", "bar-1")
        page.click("#btn-ready")
        state_is(page, "ready")
        assert esl.api("sim_call 5550101 8124 talk=600").startswith("+OK")
        state_is(page, "on_call")
        page.wait_for_selector("#incall-ani:text('5550101')")
        web.stop()  # the web process dies mid-call
        page.wait_for_selector("#link[data-up='0']")
        web = start_web(port)
        page.wait_for_selector("#link[data-up='1']", timeout=30_000)
        state_is(page, "on_call")
        assert page.inner_text("#incall-ani") == "5550101"
        assert page.locator("#incall:not([hidden])").count() == 1
    finally:
        web.stop()
        esl.close()


def test_a_transfer_to_a_skill_group_rings_another_agent_with_the_note(center, platform, web, page):
    billing = Skill.objects.create(name="billing")
    refunds = Queue.objects.create(
        site=center,
        name="refunds",
        display_name="Refunds",
        strategy_parameters={"ring_timeout": 10},
    )
    QueueSkill.objects.create(queue=refunds, skill=billing, minimum_level=1)
    AgentSkill.objects.filter(agent__login_id="ag2").delete()
    AgentSkill.objects.create(agent=Agent.objects.get(login_id="ag2"), skill=billing, level=5)
    attach_switch(platform, center)
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")
    esl.api("sim_register 1102 noanswer")
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    second = page.context.browser.new_context().new_page()
    sign_in(second, web, "ag2", "bar-2")
    second.click("#btn-ready")
    state_is(page, "ready")
    state_is(second, "ready")

    assert esl.api("sim_call 5550101 8124 talk=600").startswith("+OK")
    state_is(page, "reserved")
    page.click("#btn-accept")
    state_is(page, "on_call")
    page.select_option("#transfer-kind", "queue")
    page.fill("#transfer-target", "refunds")
    page.fill("#transfer-note", "Wants a refund for invoice 42.")
    page.click("#btn-transfer")
    state_is(page, "wrap_up")

    state_is(second, "reserved")
    second.wait_for_selector("#offer-note:not([hidden])")
    assert second.inner_text("#offer-note") == (
        "Transferred by Agent 1: Wants a refund for invoice 42."
    )
    assert "Acme Logistics" in second.inner_text("#offer-customer")
    assert second.inner_text("#offer-arrived") == "transferred"
    second.click("#btn-accept")
    state_is(second, "on_call")
    second.wait_for_selector("#incall-ani:text('5550101')")
    call = wait_until(
        lambda: Call.objects.filter(ani="5550101", queue__name="refunds").first(),
        what="the call to be in the refunds queue",
    )
    assert call.ended_at is None
    second.close()
    esl.close()


def test_dialling_from_the_desktop_applies_the_rules(center, platform, web, page):
    from agents.models import DialRule
    from icm.models import CallLeg, Gateway

    attach_switch(platform, center)
    Gateway.objects.create(
        switch=Switch.objects.get(name=platform.switch), name="carrier", proxy="sip.example"
    )
    DialRule.objects.create(
        name="International",
        pattern=r"^00",
        minimum_level=3,
        message="International calls need a senior agent.",
    )
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    sign_in(page, web, "ag1", "bar-1")  # ag1 is a plain agent (level 2)
    page.fill("#dial-number", "0044 20 7946 0000")
    page.press("#dial-number", "Enter")
    page.wait_for_selector("#toast:text('International calls need a senior agent.')")
    page.fill("#dial-number", "5550123")
    page.click("#btn-dial")
    page.wait_for_selector("#toast.ok:text('Calling 5550123')")
    wait_until(
        lambda: CallLeg.objects.filter(channel_name__contains="5550123@carrier").exists(),
        timeout=20,
        what="the trunk leg",
    )
    esl.close()


def test_the_skill_group_panel_shows_callers_waiting_live(center, platform, web, page):
    attach_switch(platform, center)
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")
    sign_in(page, web, "ag1", "bar-1")  # signed in, not ready: callers wait
    row = page.locator("#queues tbody tr[data-queue=support]")
    row.wait_for()
    assert esl.api("sim_call 5550101 8124 patience=30").startswith("+OK")
    page.wait_for_selector("#queues tbody tr[data-queue=support].busy td:nth-child(2):text('1')")
    assert esl.api("sim_call 5550102 8124 patience=30").startswith("+OK")
    page.wait_for_selector("#queues tbody tr[data-queue=support] td:nth-child(2):text('2')")
    # AG-3: the agent (still not ready) takes the second caller, ahead of the first
    page.locator("#queues tr.caller", has_text="5550102").locator("button.pick").click()
    state_is(page, "reserved")
    assert page.inner_text("#offer-ani") == "5550102"
    page.click("#btn-accept")
    state_is(page, "on_call")
    page.wait_for_selector("#incall-ani:text('5550102')")
    page.wait_for_selector("#queues tbody tr[data-queue=support] td:nth-child(2):text('1')")
    assert page.locator("#queues tr.caller", has_text="5550101").count() == 1
    esl.close()


def test_consult_a_colleague_complete_the_transfer_then_a_conference(center, platform, web, page):
    """AG-9, AG-10: the customer waits with music while agent 1 consults agent 2 (not ready:
    consultations still ring), whose screen pop shows the customer and agent 1's note; the
    transfer completes; agent 2 consults extension 1103 and brings it into a conference;
    leaving it ends the call; both histories list it."""
    Extension.objects.create(site=center, number="1103", password="x")
    attach_switch(platform, center)
    events = EventCollector(
        "127.0.0.1", platform.esl_port, "PLAYBACK_START CUSTOM conference::maintenance"
    )
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")
    esl.api("sim_register 1102 noanswer")
    esl.api("sim_register 1103 answer:0.3")  # a colleague's desk phone
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    second = page.context.browser.new_context().new_page()
    sign_in(second, web, "ag2", "bar-2")
    state_is(second, "not_ready")
    state_is(page, "ready")

    assert esl.api("sim_call 5550101 8124 talk=600").startswith("+OK")
    state_is(page, "reserved")
    page.click("#btn-accept")
    state_is(page, "on_call")
    call = wait_until(lambda: Call.objects.filter(ani="5550101").first(), what="the call")
    customer = call.call_uuid
    page.select_option("#transfer-kind", "agent")
    page.fill("#transfer-target", "ag2")
    page.fill("#transfer-note", "Asks about invoice 42.")
    page.click("#btn-consult")
    page.wait_for_selector("#consult:not([hidden]) #consult-label:text('Ringing')")
    wait_until(
        lambda: any(
            e.get("Unique-ID") == customer
            and "local_stream://moh" in e.get("Playback-File-Path", "")
            for e in events.executed_events("PLAYBACK_START")
        ),
        what="the customer to hear music",
    )

    state_is(second, "reserved")
    second.wait_for_selector("#offer-note:not([hidden])")
    assert second.inner_text("#offer-note") == "Consultation from Agent 1: Asks about invoice 42."
    assert "Acme Logistics" in second.inner_text("#offer-customer")
    assert second.inner_text("#offer-arrived") == "consultation"
    second.click("#btn-accept")
    state_is(second, "on_call")
    page.wait_for_selector("#consult-label:text('Consulting')")
    second.wait_for_selector("#consult:not([hidden]) #consult-target:text('ag1')")

    page.click("#btn-consult-complete")
    state_is(page, "wrap_up")
    wait_until(
        lambda: "1102" in esl.api(getvar(customer, "bridge_channel")),
        what="the customer bridged to agent 2",
    )
    second.wait_for_selector("#consult", state="hidden")
    assert second.inner_text("#incall-ani") == "5550101"
    assert "Acme Logistics" in second.inner_text("#incall-customer")

    second.select_option("#transfer-kind", "extension")
    second.fill("#transfer-target", "1103")
    second.click("#btn-consult")
    second.wait_for_selector("#consult-label:text('Consulting')")  # 1103 answered
    second.click("#btn-conference")
    second.wait_for_selector("#consult-label:text('Conference')")
    room = f"ipbx-{customer}"

    def members() -> list[str]:
        reply = esl.api(f"conference {room} list")
        return [line for line in reply.splitlines() if line and line[0].isdigit()]

    in_room = wait_until(lambda: len(members()) == 3 and members(), what="three in the room")
    assert any(customer in line for line in in_room)
    assert any("1102" in line for line in in_room) and any("1103" in line for line in in_room)
    adds = [
        e
        for e in events.executed_events("CUSTOM")
        if e.get("Action") == "add-member" and e.get("Conference-Name") == room
    ]
    assert len(adds) == 3
    assert second.inner_text("#btn-hangup") == "Leave"

    second.click("#btn-hangup")  # the last agent leaves: the conference ends
    state_is(second, "wrap_up")
    wait_until(
        lambda: Call.objects.filter(call_uuid=customer, ended_at__isnull=False).exists(),
        what="the call to end",
    )
    assert "not found" in esl.api(f"conference {room} list")

    for desk in (page, second):
        desk.click("#btn-wrap-done")
        row = desk.locator("#history tbody tr", has_text="5550101").first
        row.wait_for()
        assert "answered" in row.inner_text() and "Acme Logistics" in row.inner_text()
    second.close()
    events.close()
    esl.close()


def test_a_consultation_nobody_answers_returns_the_agent_to_the_customer(
    center, platform, web, page
):
    attach_switch(platform, center)
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")
    esl.api("sim_register 1102 busy")
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    second = page.context.browser.new_context().new_page()
    sign_in(second, web, "ag2", "bar-2")
    state_is(page, "ready")
    assert esl.api("sim_call 5550101 8124 talk=600").startswith("+OK")
    state_is(page, "reserved")
    page.click("#btn-accept")
    state_is(page, "on_call")
    page.select_option("#transfer-kind", "agent")
    page.fill("#transfer-target", "ag2")
    page.click("#btn-consult")
    # ag2's phone is busy: agent 1 is back with the customer, ag2 back to not ready
    page.wait_for_selector("#consult", state="hidden")
    page.wait_for_selector("#transfer:not([hidden])")
    state_is(second, "not_ready")
    call = Call.objects.get(ani="5550101")
    agent_leg = next(leg for leg in CallLeg.objects.filter(call=call) if "1101" in leg.channel_name)
    wait_until(
        lambda: esl.api(getvar(agent_leg.uuid, "bridge_uuid")).strip() == call.call_uuid,
        what="agent 1 bridged to the customer again",
    )
    row = second.locator("#history tbody tr", has_text="5550101").first
    row.wait_for()
    assert "missed" in row.inner_text()
    # the customer hangs up: the agent's phone is freed too (not left parked off-hook)
    assert esl.api(f"uuid_kill {call.call_uuid}").startswith("+OK")
    state_is(page, "wrap_up")
    wait_until(
        lambda: esl.api(f"uuid_exists {agent_leg.uuid}").strip() == "false",
        what="the agent's leg to hang up with the customer",
    )
    second.close()
    esl.close()


def test_a_call_back_booked_a_minute_ahead_rings_the_agent_then_the_customer(
    center, platform, web, page, celery_process
):
    """AG-17: booked from the desktop; at its time Celery asks icm, the agent's phone rings
    with the call-back's screen pop, and once the agent answers the customer is dialled."""
    import time

    from agents.models import ScheduledCallback
    from icm.models import CallLeg, Gateway

    attach_switch(platform, center)
    Gateway.objects.create(
        switch=Switch.objects.get(name=platform.switch), name="carrier", proxy="sip.example"
    )
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    state_is(page, "ready")
    page.fill("#callback-number", "5550101")
    page.fill("#callback-note", "Promised the refund status.")
    booked_at = time.time()
    page.evaluate("""() => {
        const d = new Date(Date.now() + 60000), p = (n) => String(n).padStart(2, "0");
        document.getElementById("callback-at").value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-`
          + `${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    }""")
    page.click("#btn-callback")
    page.wait_for_selector("#toast.ok:text('Call-back booked')")
    page.locator("#callbacks tbody tr", has_text="5550101").wait_for()
    callback = ScheduledCallback.objects.get(number="5550101")
    assert callback.agent.login_id == "ag1" and callback.status == "pending"
    assert 55 <= callback.due_at.timestamp() - booked_at <= 61

    page.wait_for_selector("#state[data-state=reserved]", timeout=90_000)
    assert time.time() >= callback.due_at.timestamp() - 1  # not before its time
    assert page.inner_text("#offer-arrived") == "call-back"
    assert page.inner_text("#offer-ani") == "5550101"
    assert "Acme Logistics" in page.inner_text("#offer-customer")
    assert "Promised the refund status." in page.inner_text("#offer-note")
    page.click("#btn-accept")
    state_is(page, "on_call")
    customer = wait_until(
        lambda: CallLeg.objects.filter(channel_name__contains="5550101@carrier").first(),
        timeout=20,
        what="the customer dialled after the agent answered",
    )
    agent_leg = CallLeg.objects.filter(call=customer.call, channel_name__contains="1101").first()
    assert agent_leg is not None and agent_leg.created_at < customer.created_at
    wait_until(
        lambda: "5550101@carrier" in esl.api(getvar(agent_leg.uuid, "bridge_channel")),
        what="agent and customer bridged",
    )
    wait_until(
        lambda: ScheduledCallback.objects.get(pk=callback.pk).status == "done",
        what="the call-back marked done",
    )
    page.click("#btn-hangup")
    state_is(page, "ready")  # booked for the agent, outside any queue: no wrap-up
    wait_until(
        lambda: Call.objects.filter(pk=customer.call_id, ended_at__isnull=False).exists(),
        what="the call to end",
    )
    page.locator("#callbacks tbody tr", has_text="5550101").wait_for(state="detached")
    esl.close()
