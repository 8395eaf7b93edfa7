"""icm's facts built from the ACD's outputs (icm.domain.facts), computed by hand: an answered
contact's wait, talk (hold left out), hold and wrap-up, whichever comes first of the answer
and the agent's on-call change; abandons at once; the agent's state intervals; transfers."""

from __future__ import annotations

from icm.domain.facts import FactBuilder


def kinds(out, kind):
    return [f for k, f in out if k == kind]


def test_an_answered_call_with_hold_and_wrap_up():
    b = FactBuilder("fs1")
    b.agent_changed("a1", "ready", 0.0)
    b.agent_changed("a1", "reserved", 8.0)
    b.contact_finished(
        "c1", "support", "answered", 5.0, 10.0, agent="a1", call_uuid="call1", skill="en"
    )
    b.agent_changed("a1", "on_call", 10.0, queue="support", contact="c1")
    b.held("a1", True, 20.0)
    b.held("a1", True, 22.0)  # a second hold event changes nothing
    b.held("a1", False, 30.0)
    b.transferred("a1")
    b.agent_changed("a1", "wrap_up", 50.0)
    assert kinds(b.out, "contact") == []  # not over until the wrap-up ends
    b.agent_changed("a1", "ready", 60.0)
    out = b.take()
    (fact,) = kinds(out, "contact")
    assert (fact["entered_at"], fact["answered_at"], fact["ended_at"]) == (5.0, 10.0, 60.0)
    assert (
        fact["wait_seconds"],
        fact["talk_seconds"],
        fact["hold_seconds"],
        fact["wrap_seconds"],
    ) == (5.0, 30.0, 10.0, 10.0)
    assert fact["transferred"] and fact["agent"] == "a1" and fact["skill"] == "en"
    states = [
        (s["state"], s["started_at"], s["ended_at"], s["queue"]) for s in kinds(out, "agent_state")
    ]
    assert states == [
        ("ready", 0.0, 8.0, ""),
        ("reserved", 8.0, 10.0, ""),
        ("on_call", 10.0, 50.0, "support"),
        ("wrap_up", 50.0, 60.0, "support"),
    ]
    events = [(e["kind"], e["at"], e["wait_seconds"]) for e in kinds(out, "queue_event")]
    assert events == [("answered", 10.0, 5.0)]
    assert b.take() == []


def test_on_call_before_the_answer_and_straight_to_ready():
    b = FactBuilder("fs1")
    b.agent_changed("a1", "on_call", 100.0)
    b.contact_finished("c2", "sales", "answered", 12.0, 100.5, agent="a1")
    b.agent_changed("a1", "not_ready", 130.5, reason="lunch")  # no wrap-up
    b.agent_changed("a1", "logged_out", 200.0)
    out = b.take()
    (fact,) = kinds(out, "contact")
    assert (fact["talk_seconds"], fact["wrap_seconds"], fact["hold_seconds"]) == (30.0, 0.0, 0.0)
    lunch = kinds(out, "agent_state")[-1]
    assert (lunch["state"], lunch["reason"], lunch["ended_at"]) == ("not_ready", "lunch", 200.0)


def test_abandons_and_overflows_are_written_at_once():
    b = FactBuilder("fs1")
    b.queue_event("entered", "c3", "support", 0.0)
    b.contact_finished("c3", "support", "abandoned", 7.5, 7.5)
    b.contact_finished("c4", "support", "overflowed", 60.0, 61.0, target="queue:sales")
    out = b.take()
    assert [(f["contact_id"], f["outcome"], f["entered_at"]) for f in kinds(out, "contact")] == [
        ("c3", "abandoned", 0.0),
        ("c4", "overflowed", 1.0),
    ]
    assert [e["kind"] for e in kinds(out, "queue_event")] == ["entered", "abandoned", "overflowed"]
    assert kinds(out, "queue_event")[-1]["target"] == "queue:sales"


def test_a_new_answer_closes_the_previous_contact():
    b = FactBuilder("fs1")
    b.agent_changed("a1", "on_call", 0.0)
    b.contact_finished("c5", "support", "answered", 1.0, 0.0, agent="a1")
    b.contact_finished("c6", "support", "answered", 2.0, 40.0, agent="a1")  # no change between
    (first,) = kinds(b.take(), "contact")
    assert first["contact_id"] == "c5" and first["talk_seconds"] == 40.0
