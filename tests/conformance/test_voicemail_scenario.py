"""Voicemail in the conformance lane (issue 20 item 2, IVR-7): a caller routed to a flow whose
voicemail node names agent ag1's mailbox leaves a message; the message is filed with its
recording, and the switch fires MESSAGE_WAITING for the agent's phone (what mod_sofia turns
into the phone's message-summary NOTIFY) — on switchsim, on switchsim with a real switch's
races, and on a real FreeSWITCH."""

from __future__ import annotations

import pytest

from icm.models import InboundRoute
from ivr.actions import check_publish
from ivr.models import Flow, FlowVersion
from tests.conformance.switch import Backend
from tests.conformance.test_scenarios import center, start, teams  # noqa: F401 - the lane's centre
from tests.fixtures.waiting import wait_until
from voicemail.models import VoicemailMessage

pytestmark = pytest.mark.conformance

LEAVE_MESSAGE = {
    "start": "message",
    "nodes": {"message": {"type": "voicemail", "mailbox": "agent:ag1", "max_seconds": "6"}},
}


def _lowered(event: dict[str, str]) -> dict[str, str]:
    # FreeSWITCH keeps a sendevent's header names as sent; switchsim lower-cases them
    return {k.lower(): v for k, v in event.items()}


def test_a_voicemail_is_filed_and_lights_the_agents_phone(backend: Backend, center):  # noqa: F811
    site, _users = center
    flow = Flow.objects.create(name="leave-message")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=LEAVE_MESSAGE))
    InboundRoute.objects.create(site=site, name="voicemail", dnis="8150", flow=flow)
    start(backend, center)
    backend.register_phone("1301", "answer:1")
    lamps = backend.events("MESSAGE_WAITING")
    try:
        backend.call_in("5550150", "8150", talk=5)
        message = wait_until(
            lambda: VoicemailMessage.objects.filter(caller_number="5550150").first(),
            timeout=60,
            what="the message to be filed",
        )
        assert message.mailbox.owner == "agent:ag1" and message.duration >= 1

        def lit() -> list[dict[str, str]]:
            fired = [_lowered(e) for e in lamps.executed_events("MESSAGE_WAITING")]
            return [e for e in fired if e.get("mwi-message-account") == "sip:1301@sv.local"]

        (event,) = wait_until(lit, timeout=20, what="MESSAGE_WAITING for 1301")
        assert event["mwi-messages-waiting"] == "yes"
        assert event["mwi-voice-message"] == "1/0 (0/0)"
    finally:
        lamps.close()
