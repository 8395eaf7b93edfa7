"""Callers who leave a queue without an agent, through switchsim (issue 20 item 1; R-7, R-9):
each overflow target really carries the caller there — voicemail with a recorded message,
an extension that rings and answers, a flow that hands the caller to another queue, a
call-back that keeps the place and is dialled back, a goodbye before any hang-up — the keys
to leave while waiting, and the position announcement as the caller hears it."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from django.conf import settings

from icm.models import CallLeg, Gateway, Queue, Switch
from ivr.actions import check_publish
from ivr.models import Flow, FlowVersion
from tests.fixtures.esl_client import EventCollector
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import call_center, ended, set_state, transitions
from voicemail.models import VoicemailMessage

__all__ = ["call_center"]  # the fixture, shared with the ACD's switchsim tests


def _overflow(*rules: dict, **params) -> None:
    Queue.objects.filter(name="helpdesk").update(
        strategy_parameters={"ring_timeout": 3, "overflow": list(rules), **params}
    )


def _said(events: EventCollector, uuid: str) -> list[str]:
    return [data.split("|", 2)[-1] for data in events.executed("speak", uuid)]


@pytest.fixture
def events(platform_factory):
    collectors: list[EventCollector] = []

    def collect(platform) -> EventCollector:
        collectors.append(EventCollector("127.0.0.1", platform.esl_port, "CHANNEL_EXECUTE"))
        return collectors[-1]

    yield collect
    for collector in collectors:
        collector.close()


def test_waiting_callers_hear_their_position_and_the_keys_to_leave(
    call_center, platform_factory, events
):
    Queue.objects.filter(name="helpdesk").update(
        strategy_parameters={"ring_timeout": 3, "announce_seconds": 1}
    )
    platform = platform_factory()
    heard = events(platform)
    esl = platform.control()
    first = esl.api("sim_call 5550201 8123 patience=8").split()[1]
    platform.icm.wait_log("handed to queue helpdesk")
    second = esl.api("sim_call 5550202 8123 patience=8").split()[1]
    wait_until(lambda: _said(heard, second), timeout=20, what="the second caller's announcement")
    said = _said(heard, second)[0]
    assert said.startswith("You are number 2 in the queue.")
    assert "To be called back, press 1. To leave a message, press 2." in said
    assert _said(heard, first)[0].startswith("You are number 1 in the queue.")
    # back to the music after the announcement
    wait_until(
        lambda: len([m for m in heard.executed("playback", second) if "moh" in m]) >= 2,
        what="the music to resume",
    )
    esl.close()


def test_the_maximum_wait_takes_the_caller_to_the_queue_voicemail(
    call_center, platform_factory, events
):
    Queue.objects.filter(name="helpdesk").update(max_wait_seconds=2)
    platform = platform_factory()
    heard = events(platform)
    esl = platform.control()
    uuid = esl.api("sim_call 5550203 8123 record=2 patience=30").split()[1]
    wait_until(lambda: heard.executed("record", uuid), timeout=20, what="the message recording")
    assert _said(heard, uuid)[-1] == (
        "All our agents are busy. Please leave a message after the tone."
    )
    path = Path(heard.executed("record", uuid)[0].split()[0])
    assert path.parent == Path(settings.IPBX_RECORDINGS_DIR) / "voicemail" / "queue-helpdesk"
    call = wait_until(lambda: ended("5550203"), timeout=20, what="the call to end")
    assert call.attached_data["routing"]["outcome"] == "overflowed"
    with wave.open(str(path)) as recorded:  # the caller's message is really there
        assert recorded.getnframes() / recorded.getframerate() > 1.5
    # filed in the queue's mailbox (IVR-7), where it became a call-back the ACD will route
    message = VoicemailMessage.objects.get(path=str(path))
    assert message.mailbox.owner == "queue:helpdesk" and message.caller_number == "5550203"
    assert message.callback.queue.name == "helpdesk" and message.callback.status == "pending"
    esl.close()


def test_a_caller_pressing_2_leaves_a_message_instead_of_waiting(
    call_center, platform_factory, events
):
    platform = platform_factory()
    heard = events(platform)
    esl = platform.control()
    uuid = esl.api("sim_call 5550204 8123 record=1 patience=60").split()[1]
    platform.icm.wait_log("handed to queue helpdesk")
    assert esl.api(f"sim_dtmf {uuid} 2").startswith("+OK")
    wait_until(lambda: heard.executed("record", uuid), timeout=20, what="the message recording")
    platform.icm.wait_log("leaves queue helpdesk for voicemail")
    call = wait_until(lambda: ended("5550204"), timeout=20, what="the call to end")
    assert call.attached_data["routing"]["outcome"] == "overflowed"
    esl.close()


def test_overflow_to_an_extension_rings_and_connects_it(call_center, platform_factory):
    _overflow({"target_kind": "extension", "target": "1103", "after_seconds": 1})
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1103 answer:0.2")  # a desk no agent of the queue signed in at
    assert esl.api("sim_call 5550205 8123 patience=60").startswith("+OK")
    bridged = wait_until(
        lambda: CallLeg.objects.filter(
            channel_name__contains="1103", bridged_at__isnull=False
        ).first(),
        timeout=20,
        what="extension 1103 to answer the overflowed caller",
    )
    assert bridged is not None
    esl.api("hupall NORMAL_CLEARING")
    esl.close()


def test_overflow_to_a_flow_runs_it_and_its_queue_takes_the_caller(
    call_center, platform_factory, events
):
    flow = Flow.objects.create(name="overflow-flow")
    graph = {
        "start": "p",
        "nodes": {
            "p": {"type": "play", "text": "Our help desk is busy.", "exits": {"next": "q"}},
            "q": {"type": "enter_queue", "queue": "backup"},
        },
    }
    helpdesk = Queue.objects.get(name="helpdesk")
    Queue.objects.create(site=helpdesk.site, name="backup", display_name="Backup")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=graph))
    _overflow({"target_kind": "flow", "target": "overflow-flow", "after_seconds": 1})
    platform = platform_factory()
    heard = events(platform)
    esl = platform.control()
    uuid = esl.api("sim_call 5550206 8123 patience=60").split()[1]
    platform.icm.wait_log("handed to queue backup", timeout=20)
    assert "Our help desk is busy." in _said(heard, uuid)
    esl.api("hupall NORMAL_CLEARING")
    esl.close()


def test_overflow_to_a_call_back_keeps_the_place_and_the_caller_is_called_back(
    call_center, platform_factory, events
):
    _overflow({"target_kind": "callback", "after_seconds": 1})
    platform = platform_factory()
    Gateway.objects.create(
        switch=Switch.objects.get(name=platform.switch), name="carrier", proxy="198.51.100.10"
    )
    heard = events(platform)
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    uuid = esl.api("sim_call 5550207 8123 patience=60").split()[1]
    wait_until(lambda: _said(heard, uuid), timeout=20, what="the call-back goodbye")
    assert _said(heard, uuid)[-1] == "We will call you back at 5 5 5 0 2 0 7. Goodbye."
    first = wait_until(lambda: ended("5550207"), timeout=20, what="the caller to hang up")
    assert "routing" not in first.attached_data  # not an abandon: the contact still waits
    set_state(call_center, platform, "ag1", "login")  # reserved first, then the caller dialled
    dialled = wait_until(
        lambda: CallLeg.objects.filter(
            channel_name__contains="5550207", bridged_at__isnull=False
        ).first(),
        timeout=20,
        what="the caller to be dialled back and bridged to the agent",
    )
    assert dialled is not None and ("reserved", "on_call", "") in transitions("ag1")
    esl.api("hupall NORMAL_CLEARING")
    esl.close()


def test_overflow_to_a_number_the_dialling_rules_refuse_goes_to_voicemail_instead(
    call_center, platform_factory, events
):
    _overflow({"target_kind": "number", "target": "+19005551234", "after_seconds": 1})
    platform = platform_factory()
    heard = events(platform)
    esl = platform.control()
    uuid = esl.api("sim_call 5550208 8123 record=1 patience=60").split()[1]
    wait_until(lambda: heard.executed("record", uuid), timeout=20, what="voicemail instead")
    assert not heard.executed("transfer", uuid)
    platform.icm.wait_log("refused by the dialling rules")
    esl.close()


def test_an_unknown_overflow_target_says_goodbye_before_hanging_up(
    call_center, platform_factory, events
):
    """A target queue that is not there (never made, or disabled since): a goodbye."""
    _overflow({"target_kind": "queue", "target": "nosuchqueue", "after_seconds": 2})
    platform = platform_factory()
    heard = events(platform)
    esl = platform.control()
    uuid = esl.api("sim_call 5550209 8123 patience=60").split()[1]
    call = wait_until(lambda: ended("5550209"), timeout=30, what="the goodbye and hang-up")
    assert _said(heard, uuid)[-1].startswith("We are sorry, no one can take your call now.")
    assert call.attached_data["routing"]["outcome"] == "overflowed"
    esl.close()
