"""A call through the demo's welcome and into a queue on switchsim started like FreeSWITCH
with freeswitch_conf (relative prompts under the shipped sounds/, music from sounds/music):
the welcome and the queue music are heard, not "FILE NOT FOUND" (issue 17, defect 6)."""

from __future__ import annotations

import pytest

from icm.models import Call, InboundRoute, Queue, Site
from ivr.actions import check_publish
from ivr.demo import MAIN_GRAPH
from ivr.models import Flow, FlowVersion
from tests.fixtures.esl_client import EventCollector
from tests.fixtures.waiting import wait_until

WELCOME = MAIN_GRAPH["nodes"]["welcome"]


@pytest.fixture
def welcome_flow(transactional_db):
    site = Site.objects.create(code="snd", name="Sounds site", sip_domain="snd.local")
    Queue.objects.create(site=site, name="support", display_name="Support")
    graph = {
        "start": "welcome",
        "nodes": {
            "welcome": {**WELCOME, "exits": {"next": "queue"}},
            "queue": {"type": "enter_queue", "queue": "support"},
        },
    }
    flow = Flow.objects.create(name="welcome")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=graph))
    InboundRoute.objects.create(site=site, name="welcome", dnis="8300", flow=flow)
    return flow


def test_the_demo_welcome_and_the_queue_music_play(welcome_flow, platform):
    events = EventCollector("127.0.0.1", platform.esl_port, "CHANNEL_EXECUTE PLAYBACK_START")
    esl = platform.control()
    assert esl.api("sim_call 5550333 8300 patience=4").startswith("+OK")
    wait_until(
        lambda: Call.objects.filter(ani="5550333", ended_at__isnull=False).exists(),
        timeout=40,
        what="the call to end",
    )
    started = [e.get("Playback-File-Path") for e in events.executed_events("PLAYBACK_START")]
    assert "ivr/welcome.wav" in started  # the switch found the shipped file
    assert "local_stream://moh" in started  # and the moh stream exists
    assert "FILE NOT FOUND" not in platform.switchsim.log()
