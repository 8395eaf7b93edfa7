"""The live calls page in headless Chromium: switch → icm → bus → browser, and back."""

import pytest
from django.contrib.auth.models import User

from icm.models import Call
from tests.fixtures.browser import log_in
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_user(transactional_db):
    return User.objects.create_superuser("boss", "boss@example.com", "pw-for-tests-1")


def test_calls_appear_and_end_live_and_can_be_hung_up(admin_user, platform, web, page):
    log_in(page, web, "boss", "pw-for-tests-1")
    page.wait_for_selector("#stream-state:text('live')")
    page.wait_for_selector(f".switch.up:text('{platform.switch} connected')")

    esl = platform.control()
    assert esl.api("sim_call 5559876 9199 patience=2").startswith("+OK")
    row = page.locator("#calls tbody tr", has_text="5559876")
    row.wait_for()
    assert "9199" in row.inner_text()
    # the caller hangs up after 2 s: the row leaves and the call is listed as ended
    row.wait_for(state="detached")
    page.locator("#ended tbody tr", has_text="5559876").wait_for()
    assert "NORMAL_CLEARING" in page.locator("#ended tbody tr", has_text="5559876").inner_text()

    # a long call, hung up from the page
    assert esl.api("sim_call 5554321 9199 talk=600").startswith("+OK")
    row = page.locator("#calls tbody tr", has_text="5554321")
    row.wait_for()
    row.get_by_role("button", name="Hang up").click()
    row.wait_for(state="detached")
    call = wait_until(
        lambda: Call.objects.filter(ani="5554321", ended_at__isnull=False).first(),
        what="the hung-up call's CDR",
    )
    assert call.hangup_cause == "NORMAL_CLEARING"
    esl.close()


def test_page_and_socket_refuse_anonymous_users(web, page):
    page.goto(f"{web}/calls/")
    assert "/accounts/login/" in page.url
    code = page.evaluate(
        """() => new Promise((resolve) => {
            const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws/live/');
            ws.onclose = (e) => resolve(e.code);
            ws.onopen = () => {};
        })"""
    )
    assert code != 1000
    response = page.request.get(f"{web}/api/live/")
    assert response.status in (401, 403)
