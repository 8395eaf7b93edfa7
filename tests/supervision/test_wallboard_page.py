"""The supervisor wallboard in headless Chromium against switchsim: a call arrives in the
queue tile and raises the waiting alarm (with its sound), the team leader makes the agent
ready from the grid, the agent answers, the tile and the grid follow; figures equal the
CDRs; a team leader sees only its queues and agents; a lost frame heals with a snapshot."""

from __future__ import annotations

from statistics import mean

import pytest

from agents.models import Skill
from icm.models import Call, InboundRoute, Queue, QueueSkill, Switch, SystemEvent
from tests.fixtures.browser import log_in
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for, support_calls_reach_agent1

pytestmark = pytest.mark.browser


@pytest.fixture
def board(teams, platform_factory):
    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    Queue.objects.filter(name="support").update(alarm_waiting=0, service_level_seconds=20)
    billing = Queue.objects.get(name="billing")
    QueueSkill.objects.create(queue=billing, skill=Skill.objects.create(name="billing"))
    InboundRoute.objects.create(site=site, name="billing", dnis="8132", queue=billing)
    platform = platform_factory()
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.3")
    agent = client_for(users["agent1"])
    login = {"state": "login", "switch": platform.switch}
    assert agent.post("/api/agents/ag1/state/", login, format="json").status_code == 200
    not_ready = {"state": "not_ready", "reason": "meeting", "switch": platform.switch}
    assert agent.post("/api/agents/ag1/state/", not_ready, format="json").status_code == 200
    yield platform, esl, users
    try:
        esl.api("hupall")
        esl.close()
    except (ConnectionError, OSError):  # a test crashed the switch: nothing left to hang up
        pass


def tile(page, queue: str, field: str) -> str:
    return page.inner_text(f".tile[data-queue={queue}] [data-f={field}]")


def card(page, agent: str) -> str:
    return f".agent[data-agent={agent}]"


def test_a_call_through_the_wallboard(board, web, page):
    platform, esl, users = board
    log_in(page, web, "lead1", "pw", "/wallboard/")
    page.wait_for_selector("#live.on")
    page.check("#sound")
    page.wait_for_selector(f"{card(page, 'ag1')}[data-state=not_ready]")
    assert "Meeting" in page.inner_text(card(page, "ag1")) or "meeting" in page.inner_text(
        card(page, "ag1")
    )
    # the team leader's scope: its queue and agent only
    assert page.locator(".tile[data-queue=support]").count() == 1
    assert page.locator(".tile[data-queue=billing]").count() == 0
    assert page.locator(card(page, "ag2")).count() == 0

    assert esl.api("sim_call 5550101 8131 talk=600").startswith("+OK")
    page.wait_for_function(
        "document.querySelector('.tile[data-queue=support] [data-f=waiting]').textContent === '1'"
    )
    assert tile(page, "support", "offered") == "1"
    page.wait_for_selector("#alarms li[data-key='queue_waiting:support']")
    page.wait_for_selector(".tile[data-queue=support].alarm")
    assert page.evaluate("window.wallboard.beeps") >= 1  # the sound option played it
    longest = ".tile[data-queue=support] [data-f=longest]"
    page.wait_for_function(  # the longest wait ticks on the page
        f"document.querySelector('{longest}').textContent !== '0:00'"
    )
    assert "5550101" in page.inner_text(".tile[data-queue=support] .callers")
    # a billing call is out of this team leader's sight
    assert esl.api("sim_call 5550109 8132 talk=600").startswith("+OK")

    page.click(card(page, "ag1"))
    page.wait_for_selector("#panel[open]")
    page.click("#panel [data-act=force_ready]")
    page.wait_for_selector("#panel-result:text('done')")
    page.wait_for_selector(f"{card(page, 'ag1')}[data-state=on_call]")
    assert "5550101" in page.inner_text(f"{card(page, 'ag1')} .party")
    page.wait_for_function(
        "document.querySelector('.tile[data-queue=support] [data-f=waiting]').textContent === '0'"
    )
    page.wait_for_function(  # the answer reaches the tile with the next look (≤ 0.25 s)
        "document.querySelector('.tile[data-queue=support] [data-f=answered]').textContent === '1'"
    )
    assert page.inner_text(".tile[data-queue=support] [data-s=on_call]").strip().startswith("1")
    page.wait_for_selector("#alarms li[data-key='queue_waiting:support']", state="detached")

    # force release from the grid: the call ends, the agent wraps up, its day counts the call
    page.click("#panel [data-act=force_release]")
    page.wait_for_selector(f"{card(page, 'ag1')}[data-state=wrap_up]")
    page.wait_for_function(
        "document.querySelector('.agent[data-agent=ag1] .handled').textContent === '1'"
    )
    page.keyboard.press("Escape")

    # a caller who gives up while the agent is not ready
    page.click(card(page, "ag1"))
    page.select_option("#panel-reason", "meeting")
    page.click("#panel [data-act=force_not_ready]")
    page.wait_for_selector(f"{card(page, 'ag1')}[data-state=not_ready]")
    page.keyboard.press("Escape")
    assert esl.api("sim_call 5550102 8131 patience=4").startswith("+OK")
    page.wait_for_function(
        "document.querySelector('.tile[data-queue=support] [data-f=abandoned]').textContent === '1'"
    )

    # the tile's figures are the CDRs' figures
    calls = wait_until(
        lambda: (
            list(Call.objects.filter(queue__name="support", ended_at__isnull=False))
            if Call.objects.filter(queue__name="support", ended_at__isnull=False).count() == 2
            else None
        ),
        what="both support calls in the CDRs",
    )
    routing = [c.attached_data["routing"] for c in calls]
    outcomes = [r["outcome"] for r in routing]
    answered = [r for r in routing if r["outcome"] == "answered"]
    assert tile(page, "support", "offered") == str(len(calls))
    assert tile(page, "support", "answered") == str(outcomes.count("answered"))
    assert tile(page, "support", "abandoned") == str(outcomes.count("abandoned"))
    asa = mean(r["waited"] for r in answered)
    assert tile(page, "support", "asa") == f"{round(asa)} s"
    within = sum(1 for r in answered if r["waited"] <= 20)
    assert tile(page, "support", "sl_today") == f"{round(100 * within / len(calls))}%"
    aht = page.inner_text(".tile[data-queue=support] [data-f=aht]")
    assert aht.endswith(" s") and int(aht[:-2]) > 0

    # the alarm history keeps the raised and cleared alarm
    kinds = set(
        SystemEvent.objects.filter(alarm="queue_waiting", subject="support").values_list(
            "kind", flat=True
        )
    )
    assert {"alarm_raised", "alarm_cleared"} <= kinds
    page.goto(f"{web}/supervision/events/?alarm=queue_waiting")
    assert "callers waiting in support" in page.inner_text("#events")


def test_a_missing_frame_brings_a_fresh_snapshot(board, web, page):
    platform, esl, users = board
    log_in(page, web, "lead1", "pw", "/wallboard/")
    page.wait_for_selector("#live.on")
    page.wait_for_selector(f"{card(page, 'ag1')}[data-state=not_ready]")
    before = page.evaluate("window.wallboard.snapshots")
    # pretend the socket skipped a frame: the page must notice and ask for a snapshot
    page.evaluate("window.wallboard.lastWseq -= 1")
    client_for(users["lead1"]).post("/api/supervision/agents/ag1/force_ready/", {}, format="json")
    page.wait_for_function(f"window.wallboard.snapshots > {before}")
    resyncs = page.evaluate("window.wallboard.resyncs")
    assert resyncs == 1, (resyncs, page.evaluate("window.wallboard.snapshots"), before)
    page.wait_for_selector(f"{card(page, 'ag1')}[data-state=ready]")


def test_the_wallboard_refuses_agents_and_strangers(board, web, page):
    platform, esl, users = board
    page.goto(f"{web}/wallboard/")  # an agent signs in
    page.fill("input[name=username]", "agent1")
    page.fill("input[name=password]", "pw")
    with page.expect_response(lambda r: r.url.endswith("/wallboard/")) as response:
        page.click("input[type=submit]")
    assert response.value.status == 403
    code = page.evaluate("""() => new Promise((resolve) => {
        const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws/wallboard/');
        ws.onclose = (e) => resolve(e.code);
    })""")
    assert code == 4403
    snapshot = client_for(users["lead2"]).get("/api/wallboard/").json()
    assert [q["name"] for q in snapshot["queues"]] == ["billing"]
    assert [a["agent"] for a in snapshot["agents"]] == ["ag2"]
    assert client_for(users["agent1"]).get("/api/wallboard/").status_code == 403


def test_trunk_and_switch_trouble_show_and_clear(board, web, page):
    """A trunk failing its registration and the switch going away raise alarms on the
    wallboard (kept in the history); both clear when they come back."""
    platform, esl, users = board
    log_in(page, web, "lead1", "pw", "/wallboard/")
    page.wait_for_selector("#live.on")
    assert esl.api("sim_gateway carrier1 FAIL_WAIT DOWN 408 Request Timeout").startswith("+OK")
    page.wait_for_selector("[data-gateway=carrier1][data-health=down]")
    page.wait_for_selector("#alarms li[data-key='gateway:carrier1']")
    assert "fail_wait" in page.inner_text("[data-gateway=carrier1]")
    esl.api("sim_gateway carrier1 REGED UP")
    page.wait_for_selector("[data-gateway=carrier1][data-health=up]")
    page.wait_for_selector("#alarms li[data-key='gateway:carrier1']", state="detached")

    platform.restart_switchsim(crash=True)  # icm loses the switch, then reconnects

    def history():
        rows = list(
            SystemEvent.objects.filter(switch=platform.switch)
            .order_by("at", "id")
            .values_list("kind", "alarm")
        )
        lost = (
            rows.index(("switch_disconnected", "")) if ("switch_disconnected", "") in rows else None
        )
        back = lost is not None and ("switch_connected", "") in rows[lost:]
        return rows if back else None

    kinds = wait_until(history, what="the switch lost and regained in the history")
    assert ("alarm_raised", "gateway") in kinds and ("alarm_cleared", "gateway") in kinds
    assert kinds[0] == ("icm_started", "")
    page.wait_for_selector(f"[data-switch={platform.switch}].on")


def test_an_agent_whose_phone_is_not_registered_shows_why(board, web, page):
    """ICM-1: the phone signs off, the agent's card says so (no calls are offered to it);
    it registers again and the warning goes."""
    platform, esl, users = board
    log_in(page, web, "lead1", "pw", "/wallboard/")
    page.wait_for_selector("#live.on")
    page.wait_for_selector(f"{card(page, 'ag1')}[data-state=not_ready]")
    assert page.locator(f"{card(page, 'ag1')} .phone-off").count() == 0
    assert esl.api("sim_unregister 1301").startswith("+OK")
    page.wait_for_selector(f"{card(page, 'ag1')}.phone-down .phone-off")
    assert "phone 1301 not registered" in page.inner_text(f"{card(page, 'ag1')} .phone-off")
    assert esl.api("sim_register 1301 answer:0.3").startswith("+OK")
    page.wait_for_selector(f"{card(page, 'ag1')} .phone-off", state="detached")
