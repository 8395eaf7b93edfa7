"""Live listen in the browser (REC-3) in headless Chromium against switchsim: the team
leader opens an agent's card on the wallboard and listens to its call — the switch's audio
of the call (agent and customer on their own channels) reaches the page, is played with Web
Audio and drives two level meters; the call ends, the page says so and the tap's file is
gone, never catalogued. Refused outside the scope and to agents; a tap is its owner's only."""

from __future__ import annotations

import math

import pytest

from icm.models import CallLeg, Switch
from recording.models import Recording
from supervision.models import AuditEntry
from tests.fixtures.browser import log_in
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for, support_calls_reach_agent1

pytestmark = pytest.mark.browser

# switchsim's recorded audio: a sine of amplitude 1500 on each side -> RMS 1500 / √2
TONE_DBFS = 20 * math.log10(1500 / math.sqrt(2) / 32768)


@pytest.fixture
def agent_on_a_call(teams, platform_factory, tmp_path):
    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    platform = platform_factory(IPBX_RECORDINGS_DIR=str(tmp_path))
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    login = {"state": "login", "switch": platform.switch}
    assert (
        client_for(users["agent1"]).post("/api/agents/ag1/state/", login, format="json").status_code
        == 200
    )
    assert esl.api("sim_call 5550101 8131 talk=600").startswith("+OK")
    leg = wait_until(
        lambda: CallLeg.objects.filter(
            channel_name__contains="1301", answered_at__isnull=False
        ).first(),
        what="the agent on the call",
    )
    yield esl, users, leg, tmp_path
    esl.api("hupall")
    esl.close()


def test_a_team_leader_listens_in_the_browser(agent_on_a_call, web, page):
    esl, users, leg, recordings = agent_on_a_call
    # refused to an agent, and to the other team's leader
    assert (
        client_for(users["agent1"])
        .post("/api/supervision/agents/ag1/listen_browser/", {}, format="json")
        .status_code
        == 403
    )
    assert (
        client_for(users["lead2"])
        .post("/api/supervision/agents/ag1/listen_browser/", {}, format="json")
        .status_code
        == 403
    )

    log_in(page, web, "lead1", "pw", "/wallboard/")
    page.wait_for_selector(".agent[data-agent=ag1][data-state=on_call]")
    page.click(".agent[data-agent=ag1]")
    page.wait_for_selector("#panel[open]")
    page.click("#panel [data-act=listen_browser]")
    page.wait_for_selector("#listen[data-state=live]")
    # the audio reaches the page and is played; both meters show the switch's levels
    page.wait_for_function("Number(document.querySelector('#listen').dataset.played) > 8000")
    for side in ("agent", "customer"):
        db = float(page.get_attribute(f"#level-{side}", "data-db"))
        assert abs(db - TONE_DBFS) < 1.0, (side, db)
        assert page.inner_text(f"#db-{side}").endswith("dB")
    assert page.evaluate("document.querySelector('#level-agent').value") > -60
    taps = list((recordings / "live").rglob("*.wav"))
    assert len(taps) == 1  # the switch writes the tap where icm asked
    entry = AuditEntry.objects.get(action="listen_browser", outcome="ok")
    assert entry.target == "ag1" and entry.detail["call"] == leg.call.call_uuid

    # someone else cannot open this tap's socket, even knowing its address
    tap = entry.detail["tap"]
    socket_path = page.evaluate("window.wallboard && window.wallboard.listenSocket()")
    assert tap in socket_path
    other = page.context.browser.new_context()
    try:
        intruder = other.new_page()
        log_in(intruder, web, "lead2", "pw", "/wallboard/")
        code = intruder.evaluate(
            """(path) => new Promise((done) => {
            const s = new WebSocket(`ws://${location.host}${path}`);
            s.onclose = (e) => done(e.code);
        })""",
            socket_path,
        )
        assert code == 4403
    finally:
        other.close()
    page.wait_for_function(  # and the owner's stream goes on
        f"Number(document.querySelector('#listen').dataset.seconds) > "
        f"{float(page.get_attribute('#listen', 'data-seconds')) + 0.3}"
    )

    # the customer hangs up: the page says the call ended; the tap's file is removed
    esl.api(f"uuid_kill {leg.call.call_uuid}")
    page.wait_for_selector("#listen[data-state=ended]")
    assert "call ended" in page.inner_text("#listen-status")
    wait_until(lambda: not any((recordings / "live").rglob("*.wav")), what="the tap removed")
    assert not Recording.objects.filter(path__contains="/live/").exists()


def test_closing_the_player_stops_the_tap(agent_on_a_call, web, page):
    esl, users, leg, recordings = agent_on_a_call
    log_in(page, web, "lead1", "pw", "/wallboard/")
    page.wait_for_selector(".agent[data-agent=ag1][data-state=on_call]")
    page.click(".agent[data-agent=ag1]")
    page.click("#panel [data-act=listen_browser]")
    page.wait_for_selector("#listen[data-state=live]")
    wait_until(lambda: any((recordings / "live").rglob("*.wav")), what="the tap's file")
    page.click("#listen-stop")
    page.wait_for_selector("#listen[data-state=stopped]")
    # the switch stops the tap (its file removed); the call goes on
    wait_until(lambda: not any((recordings / "live").rglob("*.wav")), what="the tap stopped")
    assert esl.api(f"uuid_exists {leg.uuid}").strip() == "true"


def test_record_orders_are_listed_and_cancelled_from_the_wallboard(agent_on_a_call, web, page):
    """SV-5's orders from the agent's card: ordered, listed, cancelled (audited); another
    team's leader can neither see nor cancel them."""
    from recording.models import RecordOrder

    esl, users, leg, recordings = agent_on_a_call
    log_in(page, web, "lead1", "pw", "/wallboard/")
    page.wait_for_selector(".agent[data-agent=ag1][data-state=on_call]")
    page.click(".agent[data-agent=ag1]")
    page.fill("#panel-minutes", "30")
    page.click("#panel [data-act=record]")
    page.wait_for_selector("#panel-orders li[data-order]")
    order = RecordOrder.objects.get()
    assert "until" in page.inner_text(f"#panel-orders li[data-order='{order.pk}']")
    other = client_for(users["lead2"])
    assert other.get("/api/supervision/record-orders/").json() == {"orders": []}
    assert other.post(f"/api/supervision/record-orders/{order.pk}/cancel/").status_code == 403
    assert client_for(users["agent1"]).get("/api/supervision/record-orders/").status_code == 403
    assert (
        client_for(users["lead1"]).post("/api/supervision/record-orders/999999/cancel/").status_code
        == 404
    )
    page.click(f"[data-cancel-order='{order.pk}']")
    page.wait_for_selector("#panel-result:text('recording order cancelled')")
    page.wait_for_selector("#panel-orders li[data-order]", state="detached")
    order.refresh_from_db()
    assert order.cancelled_at is not None
    outcomes = list(
        AuditEntry.objects.filter(action="record_cancel")
        .order_by("id")
        .values_list("username", "outcome")
    )
    assert outcomes == [("lead2", "refused"), ("lead1", "ok")]
