"""The agent desktop shows that its call is recorded and pauses / resumes the recording for
card numbers (AG-14, REC-9); the catalogue keeps the paused time."""

from __future__ import annotations

import pytest

from icm.models import Queue, Switch
from recording.models import Recording, RecordingPolicy
from tests.browser.test_agent_desktop import sign_in, state_is
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import support_calls_reach_agent1, teams  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_agent_sees_the_recording_and_pauses_it(
    teams,  # noqa: F811
    platform_factory,
    web,
    page,
    tmp_path,
):
    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    Queue.objects.filter(name="support").update(wrap_up_seconds=0)
    RecordingPolicy.objects.create(name="support calls", mode="queues").queues.add(
        Queue.objects.get(name="support")
    )
    platform = platform_factory(IPBX_RECORDINGS_DIR=str(tmp_path))
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    state_is(page, "ready")
    assert esl.api("sim_call 5550101 8131 talk=600").startswith("+OK")
    state_is(page, "on_call")
    page.wait_for_selector("#rec-state[data-state=recording]")
    page.click("#btn-record-pause")
    page.wait_for_selector("#rec-state[data-state=paused]")
    assert page.inner_text("#btn-record-pause") == "Resume recording"
    page.wait_for_timeout(1000)
    page.click("#btn-record-pause")
    page.wait_for_selector("#rec-state[data-state=recording]")
    page.click("#btn-hangup")
    row = wait_until(lambda: Recording.objects.first(), what="the recording catalogued")
    assert row.ani == "5550101" and row.policy == "policy support calls"
    assert row.paused_seconds >= 0.9
    esl.close()
