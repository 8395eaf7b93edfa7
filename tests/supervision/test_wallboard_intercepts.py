"""Standing intercepts on the wallboard (SV-9) in headless Chromium: a team leader orders
"listen to all of ag1's calls until …" on its phone, sees it listed, and cancels it; a team
leader of another team does not see it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from icm.models import Extension, Switch
from supervision.models import StandingIntercept
from tests.fixtures.browser import log_in
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.browser


def test_order_list_and_cancel_on_the_wallboard(teams, platform, web, page):
    site, users = teams
    Switch.objects.filter(name=platform.switch).update(site=site)
    Extension.objects.create(site=site, number="1390", password="x")
    log_in(page, web, "lead1", "pw", next_path="/wallboard/")
    page.wait_for_selector("#intercepts-section:not([hidden])")
    page.fill("#intercept-agent", "ag1")
    # the page takes the browser's local time (the test runs in the same zone)
    until = (datetime.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#intercept-until", until)
    page.fill("#intercept-ext", "1390")
    page.click("#intercept-start")
    item = page.locator("#intercepts-list li[data-intercept]")
    item.wait_for()
    assert "ag1" in item.inner_text() and "1390" in item.inner_text()
    assert "listened to on 1390" in page.inner_text("#intercept-result")
    row = StandingIntercept.objects.get()
    assert row.agent.login_id == "ag1" and row.cancelled_at is None

    page.click("#intercept-agent")
    page.fill("#intercept-agent", "ag2")  # another team's agent: refused, with why
    page.click("#intercept-start")
    wait_until(
        lambda: "not in your work groups" in page.inner_text("#intercept-result"),
        what="the refusal shown",
    )

    item.locator("button[data-cancel-intercept]").click()
    item.wait_for(state="detached")
    wait_until(lambda: StandingIntercept.objects.get().cancelled_at, what="cancelled")
