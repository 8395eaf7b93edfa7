"""Invariants of the live call model under any order of events (hypothesis)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from icm.domain import events as ev
from icm.domain.calls import LegState, LiveCalls

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEGS = ["a", "b", "c", "d"]

leg = st.sampled_from(LEGS)
event = st.one_of(
    st.builds(lambda u, o: ("create", u, o), leg, st.sampled_from(["", *LEGS])),
    st.builds(lambda u: ("answer", u), leg),
    st.builds(lambda u, o: ("bridge", u, o), leg, leg),
    st.builds(lambda u: ("hold", u), leg),
    st.builds(lambda u: ("unhold", u), leg),
    st.builds(lambda u: ("hangup", u), leg),
    st.builds(lambda keep: ("resync", keep), st.sets(leg)),
)


def to_event(spec, at):
    kind, *args = spec
    if kind == "create":
        uuid, other = args
        return ev.LegCreated(
            "fs1", uuid, uuid, "inbound", f"sofia/{uuid}", "100", "", "8000", "public", at, other
        )
    if kind == "answer":
        return ev.LegAnswered("fs1", args[0], at)
    if kind == "bridge":
        return ev.LegBridged("fs1", args[0], args[1], at)
    if kind == "hold":
        return ev.LegHeld("fs1", args[0], at)
    if kind == "unhold":
        return ev.LegUnheld("fs1", args[0], at)
    if kind == "hangup":
        return ev.LegHungUp("fs1", args[0], "NORMAL_CLEARING", at)
    snaps = tuple(
        ev.LegSnapshot(u, u, "inbound", f"sofia/{u}", "100", "", "8000", "public", at, True)
        for u in sorted(args[0])
    )
    return ev.SwitchResynced("fs1", snaps, at)


@settings(max_examples=300, deadline=None)
@given(st.lists(event, max_size=40))
def test_model_invariants_hold_for_any_event_order(specs):
    model = LiveCalls()
    at = T0
    for spec in specs:
        at += timedelta(seconds=1)
        for rec in model.apply(to_event(spec, at)):
            live_legs = [leg for leg in rec.legs if leg.state is not LegState.ENDED]
            # a call is ended exactly when none of its legs is up
            assert rec.ended == (not live_legs)
            if rec.ended:
                assert rec.ended_at is not None and rec.ended_at >= rec.created_at
                assert model.call("fs1", rec.call_uuid) is None
    # every live leg belongs to exactly one live call
    live = [
        leg.uuid for call in model.calls() for leg in call.legs if leg.state is not LegState.ENDED
    ]
    assert len(live) == len(set(live)) == model.leg_count()
    # hanging every leg up leaves nothing live
    for uuid in LEGS:
        model.apply(ev.LegHungUp("fs1", uuid, "NORMAL_CLEARING", at))
    assert len(model) == 0 and model.leg_count() == 0
