"""The routing decision's fast paths answer exactly what the explained selection answers:
`may_take` (one ready agent looking for work) against `eligible_agents`, `in_order` against
sorting by `contact_order_key` (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from icm.domain.acd.engine import Acd
from icm.domain.acd.model import Agent, AgentState, Contact, EscalationStep, QueuePolicy
from icm.domain.acd.outputs import OfferContact
from icm.domain.acd.selection import contact_order_key, eligible_agents, in_order, may_take

SKILLS = ("en", "es", "billing")
levels = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=3)
times = st.floats(0, 500, allow_nan=False)

policies = st.builds(
    QueuePolicy,
    name=st.just("q"),
    skills=levels,
    escalation=st.lists(st.builds(EscalationStep, times, st.integers(0, 5)), max_size=3).map(tuple),
    priority_mode=st.sampled_from(["strict", "weighted"]),
    priority_weight_seconds=st.sampled_from([0.1, 1.0, 30.0, 7.3]),
    last_agent_seconds=st.sampled_from([0.0, 30.0, 1000.0]),
    reserve_agents=st.sets(st.sampled_from(["a1", "a2"])).map(frozenset),
)
agents = st.builds(
    Agent,
    agent_id=st.sampled_from(["a1", "a2", "a3"]),
    skills=levels,
    state=st.sampled_from(list(AgentState)),
    reserve=st.booleans(),
    unreachable=st.sampled_from(["", "phone not registered"]),
)
contacts = st.builds(
    Contact,
    contact_id=st.sampled_from(["c1", "c2", "c3"]),
    queue=st.just("q"),
    enqueued_at=times,
    priority=st.integers(0, 10),
    required_skills=levels,
    last_agent_id=st.sampled_from(["", "a1", "a2", "a3", "gone"]),
    declined_by=st.sets(st.sampled_from(["a1", "a2", "a3"])),
    sequence=st.integers(0, 1000),
)


@settings(max_examples=2000, deadline=None)
@given(policies, contacts, agents, st.lists(agents, max_size=3), times, st.booleans())
def test_may_take_answers_like_the_explained_selection(
    policy, contact, agent, others, now, reserves_needed
):
    by_id = {a.agent_id: a for a in others}
    by_id[agent.agent_id] = agent
    explained = eligible_agents(policy, contact, [agent], now, reserves_needed, by_id)
    fits: dict[int, bool] = {}
    assert may_take(policy, contact, agent, now, reserves_needed, by_id, fits) == bool(
        explained.agents
    )
    # the per-agent cache answers the same for a second contact of the queue
    plain = Contact("c9", "q", contact.enqueued_at / 2)
    again = eligible_agents(policy, plain, [agent], now, reserves_needed, by_id)
    assert may_take(policy, plain, agent, now, reserves_needed, by_id, fits) == bool(again.agents)


@settings(max_examples=1000, deadline=None)
@given(policies, st.lists(st.tuples(times, st.integers(0, 10)), max_size=30), times)
def test_in_order_sorts_like_contact_order_key(policy, specs, now):
    waiting = [
        Contact(f"c{i}", "q", at, priority=priority, sequence=i % 7)
        for i, (at, priority) in enumerate(specs)
    ]
    expected = sorted(waiting, key=lambda c: contact_order_key(policy, c, now))
    assert [c.contact_id for c in in_order(policy, waiting, now)] == [
        c.contact_id for c in expected
    ]


def test_a_rejected_offer_waits_while_nobody_is_ready_then_goes_in_queue_order():
    """The re-dispatch after a rejected offer stops early only when nobody is ready."""
    acd = Acd()
    acd.set_policy(QueuePolicy("q", "longest_idle", {"en": 1}, ring_timeout=10), 0)
    for agent_id in ("a1", "a2"):
        acd.set_agent(agent_id, {"en": 5})
    acd.login("a1", 0)
    acd.login("a2", 0, ready=False)
    acd.enqueue(Contact("first", "q", 1, priority=0), 1)  # rings a1
    acd.enqueue(Contact("second", "q", 2, priority=5), 2)
    acd.enqueue(Contact("third", "q", 3, priority=1), 3)
    out = acd.set_not_ready("a1", 4, "break")  # a1 rejects: nobody is ready now
    assert not [o for o in out if isinstance(o, OfferContact)]
    assert set(acd.waiting["q"]) == {"first", "second", "third"}
    assert not any(c.offered_to for c in acd.waiting["q"].values())
    out = acd.set_ready("a2", 5)
    assert [o.contact_id for o in out if isinstance(o, OfferContact)] == ["second"]
    # a2 rejects and stays ready: the queue's head again (a decliner is only passed over
    # for someone else), not the next contact
    out = acd.offer_failed("second", "a2", 6, "rejected")
    assert [o.contact_id for o in out if isinstance(o, OfferContact)] == ["second"]
