"""Blind transfer to another agent from the desktop (issue 20 item 10): the agent picks
"agent", types a colleague's ID and a note; it wraps up at once, the colleague's desktop
rings with the customer and the note, and once it answers the customer talks to it. A
transfer to an agent who is not ready is refused on the page and the call stays."""

from __future__ import annotations

import pytest

from icm.models import Call, CallLeg
from tests.browser.test_agent_desktop import attach_switch, center, sign_in, state_is  # noqa: F401
from tests.fixtures.esl_client import getvar
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.browser


def test_a_blind_transfer_to_an_agent_from_the_desktop(center, platform, web, page):  # noqa: F811
    attach_switch(platform, center)
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")
    esl.api("sim_register 1102 noanswer")
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    state_is(page, "ready")
    second = page.context.browser.new_context().new_page()
    sign_in(second, web, "ag2", "bar-2")  # signed in, not ready yet

    assert esl.api("sim_call 5550101 8124 talk=600").startswith("+OK")
    state_is(page, "reserved")
    page.click("#btn-accept")
    state_is(page, "on_call")
    call = wait_until(
        lambda: Call.objects.filter(ani="5550101", bridged_at__isnull=False).first(),
        what="the caller bridged to ag1",
    )

    # ag2 is not ready: refused on the page, the customer stays with ag1
    page.select_option("#transfer-kind", "agent")
    page.fill("#transfer-target", "ag2")
    page.click("#btn-transfer")
    page.wait_for_selector("#toast:text('agent ag2 is not ready')")
    assert page.get_attribute("#toast", "class") != "ok"
    state_is(page, "on_call")
    assert "1101" in esl.api(getvar(call.call_uuid, "bridge_channel"))

    second.click("#btn-ready")
    state_is(second, "ready")
    page.fill("#transfer-target", "ag2")
    page.fill("#transfer-note", "Asks about invoice 42.")
    page.click("#btn-transfer")
    page.wait_for_selector("#toast.ok:text('Transferred to agent ag2')")
    state_is(page, "wrap_up")
    state_is(second, "reserved")
    second.wait_for_selector("#offer-note:not([hidden])")
    assert second.inner_text("#offer-arrived") == "transferred"
    assert second.inner_text("#offer-note") == "Transferred by Agent 1: Asks about invoice 42."
    assert "Acme Logistics" in second.inner_text("#offer-customer")
    second.click("#btn-accept")
    state_is(second, "on_call")
    wait_until(
        lambda: "1102" in esl.api(getvar(call.call_uuid, "bridge_channel")),
        what="the customer bridged with ag2's phone",
    )
    wait_until(
        lambda: (
            CallLeg.objects.filter(call=call, channel_name__contains="1101")
            .exclude(hungup_at=None)
            .exists()
        ),
        what="ag1's leg ended",
    )
    second.close()
    esl.close()
