"""An originate's job reply and its leg's own events race (issue 19): icm's dialer with the
switch faked at its boundary (the commands it is sent, the events it delivers), in both
orders. A refusal (`-ERR`) that arrives before the leg's answer ends the attempt; the leg
answering afterwards is nobody's call any more and is ended at once, not left up talking to
nobody. A reply after the answer changes nothing: the leg's own events decide."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings

from icm.daemon.campaigns.dialer import CampaignDialer
from icm.daemon.freeswitch.render import command_to_api
from icm.domain import commands as cmd
from outbound.domain.campaign_call_state import CallState


def _redis() -> redis.Redis:
    """The test Redis, without the attempt key these tests dial."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("ipbx:attempt:k1")
    return client


def _dialer() -> tuple[CampaignDialer, list[str], list[dict[str, Any]]]:
    sent: list[str] = []
    log: list[dict[str, Any]] = []

    def bgapi(command: cmd.SwitchCommand) -> str:
        sent.append(command_to_api(command))  # what the switch would receive
        return f"job-{len(sent)}"

    def api(command: cmd.SwitchCommand) -> str:
        raise AssertionError(f"no blocking api call expected: {command}")

    dialer = CampaignDialer(
        "sw1", _redis(), bgapi, api, acd=None, post=lambda item: None, record=log.append
    )
    return dialer, sent, log


def _placed(dialer: CampaignDialer, sent: list[str]) -> tuple[str, str]:
    """An agentless attempt with a message, dialed: (its leg, its originate's job)."""
    request = {
        "key": "k1",
        "campaign": "survey",
        "number": "5550100",
        "gateway": "carrier",
        "mode": "agentless",
        "message": "welcome.wav",
    }
    leg = dialer.dial(request)["leg"]
    assert dialer.pace(0.0) == 1
    assert sent[-1].startswith("originate ") and leg in sent[-1]
    return leg, f"job-{len(sent)}"


def _ended(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [update for update in log if "result" in update]


def test_a_refusal_before_the_answer_ends_the_attempt_and_the_late_leg_is_ended():
    dialer, sent, log = _dialer()
    leg, job = _placed(dialer, sent)
    assert dialer.job_done(job, "-ERR NO_ANSWER\n")
    (ended,) = _ended(log)
    assert (ended["result"], ended["hangup_cause"]) == ("no_answer", "NO_ANSWER")
    before = len(sent)
    # the leg's CHANNEL_ANSWER was delivered after the job's reply: nobody wants it
    dialer.answered(leg, 1000.0)
    assert sent[before:] == [command_to_api(cmd.HangupLeg(leg, "ORIGINATOR_CANCEL"))]
    assert not [u for u in log if "answered_at" in u]  # not counted as answered
    dialer.hung_up(leg, "ORIGINATOR_CANCEL", 1000.1)
    assert len(_ended(log)) == 1  # the attempt ended once
    # a second answer of the same leg (a repeated event) is not killed twice
    dialer.answered(leg, 1000.2)
    assert len(sent) == before + 1


def test_a_refusal_after_the_answer_changes_nothing_the_legs_own_events_decide():
    dialer, sent, log = _dialer()
    leg, job = _placed(dialer, sent)
    dialer.answered(leg, 1000.0)
    assert dialer.calls[leg].state is CallState.CONNECTED
    assert "playback" in sent[-1]  # its message plays
    before = len(sent)
    assert dialer.job_done(job, "-ERR ORIGINATOR_CANCEL\n")
    assert sent[before:] == []  # the answered leg is not ended by the reply
    assert _ended(log) == []
    dialer.hung_up(leg, "NORMAL_CLEARING", 1004.0)
    (ended,) = _ended(log)
    assert (ended["result"], ended["talk_seconds"]) == ("answered", 4.0)


def test_a_refused_leg_that_never_answers_is_not_ended_by_us():
    dialer, sent, log = _dialer()
    leg, job = _placed(dialer, sent)
    assert dialer.job_done(job, "-ERR USER_BUSY\n")
    before = len(sent)
    dialer.hung_up(leg, "USER_BUSY", 1000.0)
    assert sent[before:] == []
    (ended,) = _ended(log)
    assert ended["result"] == "busy"
