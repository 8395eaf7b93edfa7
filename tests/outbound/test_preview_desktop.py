"""Preview mode on the agent desktop, in headless Chromium against switchsim (issue 9): the
agent sees the campaign contact — name, list fields, attempt — and nothing is dialed until
it presses "Call now"; its phone rings first, then the customer; the contact stays on the
screen during the call; at wrap-up "Call back at …" books the contact's next attempt for
this agent at that time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from outbound.dialer import tick
from outbound.models import Attempt, Campaign, Contact
from tests.browser.test_agent_desktop import (  # noqa: F401
    SHOTS,
    attach_switch,
    center,
    sign_in,
    state_is,
)
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.browser
ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]


def test_preview_call_and_call_back_from_the_desktop(center, platform, web, page):  # noqa: F811
    from icm.models import Queue, Switch

    attach_switch(platform, center)
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.3")
    esl.api("sim_far_end 5550501 answered ring=0.3 talk=600")
    campaign = Campaign.objects.create(
        name="renew",
        display_name="Renewals 2027",
        mode="preview",
        state="running",
        switch=Switch.objects.get(name=platform.switch),
        queue=Queue.objects.get(name="support"),
        gateway="carrier",
        windows=ALL_DAY,
        max_attempts=3,
        ring_seconds=10,
    )
    Contact.objects.create(
        campaign=campaign,
        number="5550501",
        name="Ada Lovelace",
        data={"plan": "Gold", "renewal": "2027-01-31"},
    )
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    state_is(page, "ready")
    tick(campaign.pk)
    page.wait_for_selector("#preview:not([hidden])")
    card = page.inner_text("#preview-card")
    assert "Ada Lovelace" in card and "Renewals 2027" in card and "attempt 1 of 3" in card
    assert "Gold" in card and "2027-01-31" in card
    assert page.inner_text("#preview-number") == "5550501"
    assert page.is_hidden("#offer")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "agent-desktop-preview.png"))
    page.wait_for_timeout(800)
    assert "5550501" not in esl.api("show channels")  # the agent reads; nothing rings
    page.click("#btn-preview-call")
    state_is(page, "on_call")
    page.wait_for_selector("#incall:not([hidden])")
    wait_until(
        lambda: Attempt.objects.filter(campaign=campaign, answered_at__isnull=False).exists(),
        what="the customer to answer",
    )
    assert "Ada Lovelace" in page.inner_text("#incall-campaign")
    page.click("#btn-hangup")
    state_is(page, "wrap_up")
    page.wait_for_selector("#wrap-callback:not([hidden])")
    page.screenshot(path=str(SHOTS / "agent-desktop-wrap-callback.png"))
    when = (datetime.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    page.fill("#wrap-callback-at", when.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#wrap-callback-to", "me")
    page.click("#btn-wrap-done")
    page.wait_for_selector("#toast:text('Call-back booked')")
    state_is(page, "ready")
    attempt = Attempt.objects.get(campaign=campaign)
    assert (attempt.result, attempt.agent) == ("answered", "ag1")
    wait_until(
        lambda: tick(campaign.pk) and Contact.objects.get(campaign=campaign).status == "pending",
        what="the contact open again for its call-back",
    )
    contact = Contact.objects.get(campaign=campaign)
    assert contact.callback_agent == "ag1"
    assert contact.next_attempt_at.astimezone().replace(tzinfo=None) == when
    assert Attempt.objects.filter(campaign=campaign).count() == 1  # not before its time
    esl.api("hupall")
