"""The desktop's talk time starts at the bridge, not at the IVR's pick-up (issue 17, defect 7):
on a real switch a caller's leg is answered by the IVR long before an agent speaks, and a
call bridged for a moment must not show the whole wait as talk."""

from __future__ import annotations

import time

import pytest

from tests.browser.test_agent_desktop import attach_switch, center, sign_in, state_is  # noqa: F401
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.browser
WAIT = 7  # seconds the caller waits in the queue before an agent is ready


def _seconds(clock_text: str) -> int:
    minutes, seconds = clock_text.strip().split(":")
    return int(minutes) * 60 + int(seconds)


def test_talk_time_runs_from_the_bridge(center, platform, web, page):  # noqa: F811
    attach_switch(platform, center)
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")  # the agent answers from the desktop
    sign_in(page, web, "ag1", "bar-1")
    state_is(page, "not_ready")

    assert esl.api("sim_call 5550101 8124 talk=600 patience=60").startswith("+OK")
    time.sleep(WAIT)  # answered by the IVR, waiting in the queue: no agent is ready
    page.click("#btn-ready")
    state_is(page, "reserved")
    page.click("#btn-accept")
    state_is(page, "on_call")
    page.wait_for_selector("#incall:not([hidden])")
    page.wait_for_function(
        "() => /^\\d+:\\d\\d$/.test(document.querySelector('#incall-timer').textContent)"
    )
    talk = _seconds(page.inner_text("#incall-timer"))
    assert talk < WAIT - 2, f"talk shows {talk}s although the caller waited {WAIT}s unbridged"

    page.click("#btn-hangup")
    state_is(page, "wrap_up")
    row = page.locator("#history tbody tr.outcome-answered", has_text="5550101").first
    row.wait_for()

    def talk_shown() -> str | None:  # the row may come before icm wrote the call's end
        cells = row.locator("td").all_inner_texts()
        return next((c for c in cells if c.endswith("s") and c[:-1].isdigit()), None)

    shown = wait_until(talk_shown, timeout=10, what="the history row's talk time")
    assert int(shown[:-1]) < WAIT - 2, f"history shows {shown} of talk"
    esl.close()
