"""Message waiting (IVR-7) through the switch: the adapter's MessageWaiting command is ONE
`sendevent MESSAGE_WAITING` frame with the headers mod_sofia's MWI handler reads (or is
refused), and switchsim, as FreeSWITCH does, fires the event and lights the registered
phone's lamp (a NOTIFY counted), or does nothing when a required header is missing."""

from __future__ import annotations

import json

import pytest

from icm.daemon.freeswitch.render import UnsafeArgument, Via, render
from icm.domain import commands as cmd


def test_the_command_renders_as_one_sendevent_frame():
    frame = render(cmd.MessageWaiting("1001", "127.0.0.1", 2, 1), Via.API)
    assert frame.split("\n") == [
        "sendevent MESSAGE_WAITING",
        "MWI-Messages-Waiting: yes",
        "MWI-Message-Account: sip:1001@127.0.0.1",
        "MWI-Voice-Message: 2/1 (0/0)",
    ]
    off = render(cmd.MessageWaiting("1001", "sv.local", 0, 3), Via.API)
    assert "MWI-Messages-Waiting: no" in off and "MWI-Voice-Message: 0/3 (0/0)" in off


@pytest.mark.parametrize(
    "user, domain, new",
    [
        ("1001\n\napi system id", "x", 1),
        ("1001", "a b", 1),
        ("1001", "x\r\nMWI-Messages-Waiting: no", 1),
        ("../1001", "x", 1),
        ("1001", "x", -1),
        ("1001", "x", True),
    ],
)
def test_a_value_that_would_break_the_frame_is_refused(user, domain, new):
    with pytest.raises(UnsafeArgument):
        render(cmd.MessageWaiting(user, domain, new), Via.API)


def test_switchsim_fires_the_event_and_lights_the_registered_phone(esl):
    assert esl.command("api sim_register 1777").body.startswith("+OK")
    esl.command("event plain MESSAGE_WAITING")
    assert json.loads(esl.command("api sim_mwi 1777").body)["waiting"] is False
    reply = esl.command(render(cmd.MessageWaiting("1777", "127.0.0.1", 2, 1)))
    assert reply.headers["Reply-Text"].startswith("+OK ")
    (fired,) = [
        f
        for f in esl.events_until(lambda f: f.event_dict().get("Event-Name") == "MESSAGE_WAITING")
        if f.event_dict().get("Event-Name") == "MESSAGE_WAITING"
    ]
    assert fired.event_dict()["mwi-message-account"] == "sip:1777@127.0.0.1"
    lamp = json.loads(esl.command("api sim_mwi 1777").body)
    assert lamp == {
        "account": "1777@127.0.0.1",
        "waiting": True,
        "voice": "2/1 (0/0)",
        "notifies": 1,
    }
    esl.command(render(cmd.MessageWaiting("1777", "127.0.0.1", 0, 3)))
    lamp = json.loads(esl.command("api sim_mwi 1777").body)
    assert lamp["waiting"] is False and lamp["voice"] == "0/3 (0/0)" and lamp["notifies"] == 2
    # sofia_presence.c: no MWI-Messages-Waiting header, no NOTIFY
    esl.command("sendevent MESSAGE_WAITING\nMWI-Message-Account: sip:1777@127.0.0.1")
    assert json.loads(esl.command("api sim_mwi 1777").body)["notifies"] == 2
    # a phone not registered gets no NOTIFY; its state is kept for the record
    esl.command(render(cmd.MessageWaiting("1888", "127.0.0.1", 1, 0)))
    lamp = json.loads(esl.command("api sim_mwi 1888").body)
    assert lamp["waiting"] is True and lamp["notifies"] == 0
