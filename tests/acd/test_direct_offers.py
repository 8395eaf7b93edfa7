"""Direct offers (a consultation, a booked call-back): one chosen agent is rung outside any
queue; it is reserved meanwhile, returns to where it was when it does not take the contact,
and wraps up as the queue's agent once it owns a transferred customer."""

import pytest

from icm.domain.acd.agent_fsm import IllegalTransition
from icm.domain.acd.model import AgentState, QueuePolicy
from tests.acd.helpers import acd_with, contact, offers, states

S = AgentState


def two_agents():
    policy = QueuePolicy("q", "top_down", {"sales": 1}, wrap_up_seconds=30)
    return acd_with(policy, {"a1": {"sales": 5}, "a2": {"sales": 5}})


def test_a_reserved_agent_gets_no_queue_call_and_takes_the_direct_one():
    acd = two_agents()
    acd.set_not_ready("a2", 1, "lunch")
    acd.offer_direct("a1", "cust-1", 2, "consult")
    assert acd.agents["a1"].state is S.RESERVED
    out = acd.enqueue(contact("c9", at=3), 3)
    assert offers(out) == []  # nobody free: a1 rings for the consultation, a2 is at lunch
    acd.direct_answered("a1", 4)
    assert acd.agents["a1"].state is S.ON_CALL and acd.agents["a1"].contact_id == "cust-1"
    acd.call_ended("a1", 10)
    assert acd.agents["a1"].state is S.RESERVED  # an internal call: straight back, then c9


def test_a_not_ready_agent_can_be_consulted_and_returns_to_not_ready_with_its_reason():
    acd = two_agents()
    acd.set_not_ready("a2", 1, "lunch")
    acd.offer_direct("a2", "cust-1", 2, "consult")
    change = states(acd.direct_failed("a2", 5, "no_answer"))[0]
    assert (change.to_state, change.reason, change.trigger) == (S.NOT_READY, "lunch", "no_answer")


def test_an_agent_on_a_call_or_ringing_cannot_be_offered_directly():
    acd = two_agents()
    acd.enqueue(contact("c1", at=1), 1)
    busy = next(a for a in acd.agents.values() if a.state is S.RESERVED).agent_id
    with pytest.raises(IllegalTransition, match="reserved"):
        acd.offer_direct(busy, "cust-1", 2, "consult")
    acd.offer_answered("c1", busy, 2)
    with pytest.raises(IllegalTransition, match="on call"):
        acd.offer_direct(busy, "cust-1", 3, "consult")
    acd.call_ended(busy, 4)
    with pytest.raises(IllegalTransition, match="wrap up"):  # its notes come first
        acd.offer_direct(busy, "cust-1", 5, "consult")


def test_taking_over_a_queue_customer_means_wrap_up_after_the_call():
    acd = two_agents()
    acd.set_not_ready("a2", 1, "")
    acd.offer_direct("a2", "cust-1", 2, "consult")
    acd.direct_answered("a2", 3)
    acd.take_over("a2", "q")
    acd.call_ended("a2", 60)
    assert acd.agents["a2"].state is S.WRAP_UP
    assert acd.agents["a2"].calls_handled == 1


def test_signing_out_while_rung_directly_drops_the_offer():
    acd = two_agents()
    acd.offer_direct("a1", "cust-1", 2, "callback")
    acd.logout("a1", 3)
    assert acd.direct_offers == {}
    assert acd.direct_failed("a1", 4, "no_answer") == []


def test_an_agent_picks_a_chosen_waiting_caller_ahead_of_the_first():
    """AG-3: offered to the picking agent alone, whatever the caller's rank; the agent
    returns to not ready (with its reason) after the call when it picked while not ready."""
    acd = two_agents()
    for agent in ("a1", "a2"):
        acd.set_not_ready(agent, 1, "admin")
    acd.enqueue(contact("first", at=2), 2)
    acd.enqueue(contact("second", at=3), 3)
    out = acd.pick("a2", "second", 4)
    assert [(o.contact_id, o.agent_ids) for o in offers(out)] == [("second", ("a2",))]
    assert offers(out)[0].explanation.strategy == "picked"
    with pytest.raises(IllegalTransition, match="ringing another agent"):
        acd.pick("a1", "second", 5)
    acd.offer_answered("second", "a2", 5)
    assert acd.waiting["q"].keys() == {"first"}
    acd.call_ended("a2", 30)
    acd.end_wrap_up("a2", 31)
    assert (acd.agents["a2"].state, acd.agents["a2"].reason) == (S.NOT_READY, "admin")
    with pytest.raises(IllegalTransition, match="no longer waiting"):
        acd.pick("a1", "second", 32)
