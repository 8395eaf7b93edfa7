"""The desktop's call-backs panel shows what became of the agent's call-backs nobody
answered (issue 20 item 3): the outcome in words, and no Cancel button once it is over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent, CallbackAttempt, ScheduledCallback
from tests.browser.test_agent_desktop import attach_switch, center, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_unreachable_call_back_shows_its_outcome_on_the_desktop(center, platform, web, page):  # noqa: F811
    attach_switch(platform, center)
    ag1, now = Agent.objects.get(login_id="ag1"), timezone.now()
    gone = ScheduledCallback.objects.create(
        agent=ag1,
        number="5550444",
        due_at=now - timedelta(minutes=30),
        next_attempt_at=now - timedelta(minutes=5),
        status=ScheduledCallback.Status.UNREACHABLE,
    )
    for n, outcome in ((1, "no_answer"), (2, "busy")):
        CallbackAttempt.objects.create(
            callback=gone, number=n, started_at=now, ended_at=now, outcome=outcome
        )
    ScheduledCallback.objects.create(
        agent=ag1,
        number="5550445",
        due_at=now + timedelta(hours=1),
        next_attempt_at=now + timedelta(hours=1),
    )
    sign_in(page, web, "ag1", "bar-1")
    over = page.locator("#callbacks tbody tr", has_text="5550444")
    over.wait_for()
    assert "unreachable after 2 dial(s), the last busy" in over.inner_text()
    assert over.locator(".cancel-callback").count() == 0
    upcoming = page.locator("#callbacks tbody tr", has_text="5550445")
    assert "pending" in upcoming.inner_text()
    assert upcoming.locator(".cancel-callback").count() == 1
