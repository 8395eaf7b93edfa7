"""The ESL translator and live model replayed on real FreeSWITCH transcripts."""

from datetime import UTC, datetime

import pytest

from icm.daemon.freeswitch.translator import resync_from_show, translate
from icm.domain import events as ev
from icm.domain.calls import CallDirection, LegState, LiveCalls
from tests.fixtures.captures import api_reply, read_events

ORIGINATED = "e42d7253-5fcf-41f1-a18e-6d9076e503ff"


def replay(name: str) -> tuple[LiveCalls, list]:
    model = LiveCalls()
    ended = []
    for headers in read_events(name):
        event = translate("fs1", headers)
        if event is None or isinstance(event, ev.SWITCH_NOTICES):
            continue
        for record in model.apply(event):
            if record.ended:
                ended.append(record)
    return model, ended


def test_plain_events_decode_url_encoding():
    events = read_events("inbound-plain.txt")
    assert events[0]["Event-Date-Local"].count(":") == 2  # %3A decoded
    assert events[0]["FreeSWITCH-IPv6"] == "fd00::2"


@pytest.mark.parametrize("capture", ["inbound-plain.txt", "inbound-json.txt"])
def test_loopback_call_is_tracked_from_create_to_hangup(capture):
    model, ended = replay(capture)
    assert len(model) == 0, "no call may stay live after every leg hung up"
    by_name = {rec.legs[0].channel_name: rec for rec in ended}
    a_leg = by_name["loopback/9100-a"]
    assert a_leg.direction is CallDirection.OUTBOUND
    assert a_leg.ani == "5551000"
    assert a_leg.dnis == "9100"
    assert a_leg.hangup_cause == "NORMAL_CLEARING"
    assert a_leg.answered_at is not None
    assert a_leg.created_at <= a_leg.answered_at <= a_leg.ended_at
    assert (a_leg.ended_at - a_leg.created_at).total_seconds() > 1
    b_leg = by_name["loopback/9100-b"]
    assert b_leg.direction is CallDirection.INTERNAL  # lands in the default context
    assert b_leg.state is LegState.ENDED


def test_hold_and_unhold_are_seen_on_the_call():
    model = LiveCalls()
    states = []
    for headers in read_events("inbound-plain.txt"):
        event = translate("fs1", headers)
        if event is None or isinstance(event, ev.SWITCH_NOTICES):
            continue
        for rec in model.apply(event):
            if rec.call_uuid == ORIGINATED:
                states.append(rec.state)
    assert LegState.HELD in states
    # In the capture `uuid_hold off` answered -ERR, so the call stays held until hang-up.
    assert states[-1] is LegState.ENDED


def test_unhold_returns_the_call_to_its_previous_state():
    model = LiveCalls()
    at = datetime.now(tz=UTC)
    model.apply(ev.LegCreated("fs1", "a", "a", "inbound", "sofia/x", "1", "", "8000", "public", at))
    model.apply(ev.LegCreated("fs1", "b", "a", "outbound", "sofia/y", "1", "", "1001", "", at, "a"))
    model.apply(ev.LegBridged("fs1", "a", "b", at))
    assert model.call("fs1", "a").state is LegState.BRIDGED
    model.apply(ev.LegHeld("fs1", "a", at))
    assert model.call("fs1", "a").state is LegState.HELD
    model.apply(ev.LegUnheld("fs1", "a", at))
    assert model.call("fs1", "a").state is LegState.BRIDGED
    assert len(model.call("fs1", "a").legs) == 2


def test_bridge_capture_produces_bridged_legs():
    model = LiveCalls()
    bridged_pairs = set()
    for headers in read_events("inbound-bridge.txt"):
        event = translate("fs1", headers)
        if isinstance(event, ev.LegBridged):
            bridged_pairs.add(frozenset((event.uuid, event.other_leg_uuid)))
        if event is not None and not isinstance(event, ev.SWITCH_NOTICES):
            model.apply(event)
    assert bridged_pairs, "the capture bridges two calls"
    assert len(model) == 0


def test_resync_snapshot_from_show_channels_json():
    channels = api_reply("api-replies.txt", "show channels as json")
    calls = api_reply("api-replies.txt", "show calls as json")
    snap = resync_from_show("fs1", channels, calls, datetime.now(tz=UTC))
    uuids = {leg.uuid for leg in snap.legs}
    assert "5f2b2f75-8743-4ea1-b6c9-41891251808f" in uuids
    assert all(leg.answered for leg in snap.legs)  # callstate ACTIVE
    model = LiveCalls()
    changed = model.apply(snap)
    assert model.leg_count() == len(snap.legs)
    assert {rec.state for rec in changed} == {LegState.ANSWERED}
    # Applying the same snapshot again changes nothing.
    model.apply(snap)
    assert model.leg_count() == len(snap.legs)


def test_resync_ends_legs_gone_from_the_switch():
    model, _ = LiveCalls(), None
    at = datetime.now(tz=UTC)
    model.apply(
        ev.LegCreated("fs1", "u1", "u1", "inbound", "sofia/x", "100", "", "8000", "public", at)
    )
    ended = model.apply(ev.SwitchResynced("fs1", (), at))
    assert len(model) == 0
    assert ended[0].ended and ended[0].hangup_cause == "ICM_RESYNC_NOT_ON_SWITCH"


def test_malformed_show_reply_is_refused():
    with pytest.raises(ValueError):
        resync_from_show("fs1", "-ERR no reply", "", datetime.now(tz=UTC))


def test_a_real_record_stop_names_its_file_and_how_it_ended():
    stops = [
        e
        for h in read_events("inbound-json.txt")
        if isinstance(e := translate("fs1", h), ev.RecordingStopped)
    ]
    assert stops, "the capture records a call"
    assert all(s.path.endswith(".wav") and s.cause for s in stops)
    assert all(s.milliseconds is not None for s in stops)
