"""Resync against a lagging channel table, renamed channels, and unbridge of both legs."""

from datetime import UTC, datetime, timedelta

from icm.domain import events as ev
from icm.domain.calls import LegState, LiveCalls

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def created(uuid, call_uuid=None, other=""):
    return ev.LegCreated(
        "fs",
        uuid,
        call_uuid or uuid,
        "inbound",
        f"sofia/{uuid}",
        "100",
        "",
        "8000",
        "public",
        AT,
        other,
    )


def snap(uuid, answered=True):
    return ev.LegSnapshot(
        uuid, uuid, "inbound", f"sofia/{uuid}", "100", "", "8000", "public", AT, answered
    )


def test_a_hung_up_leg_still_listed_by_the_switch_is_not_resurrected():
    model = LiveCalls()
    model.apply(created("a"))
    model.apply(ev.LegHungUp("fs", "a", "NORMAL_CLEARING", AT))
    # FreeSWITCH deletes the row only on CHANNEL_DESTROY: the snapshot may still show it.
    model.apply(ev.ResyncStarted("fs", AT))
    model.apply(ev.SwitchResynced("fs", (snap("a"),), AT))
    assert len(model) == 0


def test_a_leg_created_after_the_request_survives_a_snapshot_without_it():
    model = LiveCalls()
    model.apply(created("old"))
    model.apply(ev.ResyncStarted("fs", AT))
    model.apply(created("new"))  # its row was not yet in the channel table
    changed = model.apply(ev.SwitchResynced("fs", (), AT + timedelta(seconds=1)))
    assert model.call("fs", "new") is not None
    assert model.call("fs", "old") is None
    assert [rec.call_uuid for rec in changed if rec.ended] == ["old"]


def test_renamed_leg_keeps_its_call_and_later_events_apply():
    model = LiveCalls()
    model.apply(created("a"))
    model.apply(created("b", "a", other="a"))
    model.apply(ev.LegBridged("fs", "a", "b", AT))
    model.apply(ev.LegRenamed("fs", "b", "b2", AT))
    call = model.call("fs", "a")
    assert {leg.uuid for leg in call.legs} == {"a", "b2"}
    assert next(leg for leg in call.legs if leg.uuid == "a").other_leg_uuid == "b2"
    model.apply(ev.LegHungUp("fs", "b2", "NORMAL_CLEARING", AT))
    model.apply(ev.LegHungUp("fs", "a", "NORMAL_CLEARING", AT))
    assert len(model) == 0


def test_unbridge_frees_both_legs():
    model = LiveCalls()
    model.apply(created("a"))
    model.apply(created("b", "a", other="a"))
    model.apply(ev.LegBridged("fs", "a", "b", AT))
    model.apply(ev.LegUnbridged("fs", "a", "b", AT))
    call = model.call("fs", "a")
    assert {leg.state for leg in call.legs} == {LegState.ANSWERED}
    assert call.state is LegState.ANSWERED


def test_an_agent_leg_placed_for_a_caller_who_just_hung_up_joins_the_callers_call():
    """The ACD rang an agent as the caller gave up: the agent leg's CHANNEL_CREATE arrives
    after the caller's call ended. It belongs to that call (its CDR, its routing), never to a
    call of its own that looks like a new caller."""
    model = LiveCalls()
    model.apply(created("caller"))
    model.apply(ev.CallQueued("fs", "caller", "support", AT, None))
    model.apply(ev.LegExpected("fs", "agent-leg", "caller"))
    model.apply(ev.LegHungUp("fs", "caller", "ORIGINATOR_CANCEL", AT))
    assert len(model) == 0
    changed = model.apply(created("agent-leg"))
    assert [c.call_uuid for c in changed] == ["caller"]
    assert changed[0].queue == "support" and changed[0].ended_at is None
    ended = model.apply(ev.LegHungUp("fs", "agent-leg", "ORIGINATOR_CANCEL", AT))
    assert ended[0].call_uuid == "caller" and ended[0].ended_at == AT
    assert ended[0].hangup_cause == "ORIGINATOR_CANCEL"
    assert len(model) == 0
