"""The pure rule behind contact events: an agent's state changes as contact messages."""

from icm.domain.acd.model import AgentState
from icm.domain.contacts import (
    ContactAccepted,
    ContactEnded,
    ContactHeld,
    ContactTracker,
    ContactTransferred,
)

S = AgentState


def test_taking_a_contact_accepts_it_and_leaving_the_call_ends_it():
    tracker = ContactTracker()
    assert tracker.agent_changed("ag1", S.RESERVED, "c1", 1.0) == []  # ringing: not yet
    assert tracker.agent_changed("ag1", S.ON_CALL, "c1", 2.0, "chat", "sales") == [
        ContactAccepted("c1", "chat", 2.0, "ag1", "sales")
    ]
    assert tracker.handling("ag1") == "c1"
    assert tracker.held("ag1", True, 3.0) == [ContactHeld("c1", "chat", 3.0, "ag1", True)]
    assert tracker.agent_changed("ag1", S.WRAP_UP, "c1", 4.0) == [
        ContactEnded("c1", "chat", 4.0, "handled", "ag1", "sales")
    ]
    assert tracker.handling("ag1") == "" and tracker.held("ag1", False, 5.0) == []


def test_a_second_on_call_change_does_not_accept_twice():
    tracker = ContactTracker()
    tracker.agent_changed("ag1", S.ON_CALL, "c1", 1.0)
    assert tracker.agent_changed("ag1", S.ON_CALL, "c1", 2.0) == []


def test_an_agents_own_call_without_a_contact_is_not_a_contact():
    tracker = ContactTracker()
    assert tracker.agent_changed("ag1", S.ON_CALL, "", 1.0) == []
    assert tracker.agent_changed("ag1", S.READY, "", 2.0) == []


def test_leaving_a_queue_abandoned_ends_and_an_overflow_transfers():
    assert ContactTracker.left_queue("c1", "voice", "q", "abandoned", 1.0) == [
        ContactEnded("c1", "voice", 1.0, "abandoned", "", "q")
    ]
    assert ContactTracker.left_queue("c1", "voice", "q", "overflowed", 1.0, "queue:b") == [
        ContactTransferred("c1", "voice", 1.0, "", "queue:b")
    ]
    assert ContactTracker.left_queue("c1", "voice", "q", "answered", 1.0) == []


def test_an_agent_leaving_a_call_it_transfers_transfers_the_contact():
    tracker = ContactTracker()
    tracker.transfer_started("ag1", "queue:b")  # no contact: nothing to transfer
    assert tracker.agent_changed("ag1", S.ON_CALL, "c1", 1.0) == [
        ContactAccepted("c1", "voice", 1.0, "ag1", "")
    ]
    tracker.transfer_started("ag1", "agent:ag2")
    assert tracker.agent_changed("ag1", S.WRAP_UP, "c1", 2.0) == [
        ContactTransferred("c1", "voice", 2.0, "ag1", "agent:ag2")
    ]


def test_a_refused_transfer_leaves_the_contact_with_its_agent():
    tracker = ContactTracker()
    tracker.agent_changed("ag1", S.ON_CALL, "c1", 1.0)
    tracker.transfer_started("ag1", "number:5551000")
    tracker.transfer_failed("ag1")
    assert tracker.agent_changed("ag1", S.READY, "c1", 2.0) == [
        ContactEnded("c1", "voice", 2.0, "handled", "ag1", "")
    ]
