"""Each routing strategy's distribution on a scripted scenario."""

import random

import pytest

from icm.domain.acd.engine import Acd
from icm.domain.acd.model import (
    AgentState,
    ContactOutcome,
    EscalationStep,
    Media,
    Overflow,
    QueuePolicy,
)
from icm.domain.acd.outputs import CallbackOverflow, CancelOffer, OfferContact
from icm.domain.acd.strategies import InvalidPolicy
from tests.acd.helpers import acd_with, contact, finished, offers

FIVE = {f"a{i}": {"sales": 5} for i in range(1, 6)}


def run_calls(acd: Acd, n: int, start: float = 100.0, talk: float = 1.0) -> list[str]:
    """n calls one after another, each answered, talked and wrapped; who took each."""
    chosen = []
    now = start
    for i in range(n):
        out = acd.enqueue(contact(f"c{i}", at=now), now)
        agent = offers(out)[0].agent_ids[0]
        chosen.append(agent)
        acd.offer_answered(f"c{i}", agent, now)
        now += talk
        acd.call_ended(agent, now)
        acd.end_wrap_up(agent, now)
        now += 1
    return chosen


def test_round_robin_cycles_through_every_agent():
    acd = acd_with(QueuePolicy("q", "round_robin", {"sales": 1}), FIVE)
    assert run_calls(acd, 10) == ["a1", "a2", "a3", "a4", "a5"] * 2


def test_longest_idle_picks_the_agent_free_the_longest():
    acd = Acd()
    acd.set_policy(QueuePolicy("q", "longest_idle", {"sales": 1}), 0)
    for i, agent in enumerate(["a3", "a1", "a2"]):
        acd.set_agent(agent, {"sales": 5})
        acd.login(agent, now=float(i))  # a3 idle since 0, a1 since 1, a2 since 2
    assert run_calls(acd, 3) == ["a3", "a1", "a2"]


def test_top_down_always_starts_from_the_top():
    agents = {"a1": {"sales": 5}, "a2": {"sales": 5}, "a3": {"sales": 5}}
    acd = acd_with(
        QueuePolicy("q", "top_down", {"sales": 1}),
        agents,
        a1={"order": 3},
        a2={"order": 1},
        a3={"order": 2},
    )
    assert run_calls(acd, 3) == ["a2", "a2", "a2"]
    out = acd.enqueue(contact("x1", at=200), 200)
    acd.enqueue(contact("x2", at=200), 200)
    assert offers(out)[0].agent_ids == ("a2",)
    assert acd.agents["a3"].state is AgentState.RESERVED  # second goes to the next one down


def test_ring_all_rings_everyone_and_the_first_answer_wins():
    acd = acd_with(QueuePolicy("q", "ring_all", {"sales": 1}), FIVE)
    offer = offers(acd.enqueue(contact("c1"), 1))[0]
    assert offer.agent_ids == ("a1", "a2", "a3", "a4", "a5")
    out = acd.offer_answered("c1", "a4", 2)
    assert acd.agents["a4"].state is AgentState.ON_CALL
    assert all(acd.agents[a].state is AgentState.READY for a in ("a1", "a2", "a3", "a5"))
    assert finished(out)[0].agent_id == "a4"


def test_least_talk_time_and_fewest_calls():
    for strategy, attr in (("least_talk_time", "talk_seconds"), ("fewest_calls", "calls_handled")):
        acd = acd_with(QueuePolicy("q", strategy, {"sales": 1}), FIVE)
        for i, agent in enumerate(acd.agents.values()):
            setattr(agent, attr, [50, 10, 40, 30, 20][i])
        assert offers(acd.enqueue(contact("c1"), 1))[0].agent_ids == ("a2",)


def test_random_spreads_calls_over_all_agents():
    acd = acd_with(QueuePolicy("q", "random", {"sales": 1}), FIVE)
    acd.rng = random.Random(7)
    counts = {}
    for agent in run_calls(acd, 500):
        counts[agent] = counts.get(agent, 0) + 1
    assert set(counts) == set(FIVE)
    assert min(counts.values()) > 60  # 100 expected each


def test_skills_best_match_prefers_the_best_level_or_the_closest():
    agents = {"junior": {"spanish": 3}, "expert": {"spanish": 9}, "mid": {"spanish": 6}}
    acd = acd_with(QueuePolicy("q", "skills_best_match", {"spanish": 3}), agents)
    assert offers(acd.enqueue(contact("c1"), 1))[0].agent_ids == ("expert",)
    acd = acd_with(QueuePolicy("q", "skills_best_match_closest", {"spanish": 3}), agents)
    assert offers(acd.enqueue(contact("c1"), 1))[0].agent_ids == ("junior",)


def test_skill_escalation_relaxes_levels_after_waiting():
    policy = QueuePolicy("q", "longest_idle", {"billing": 8}, escalation=(EscalationStep(30, 3),))
    acd = acd_with(policy, {"novice": {"billing": 5}})
    assert offers(acd.enqueue(contact("c1", at=0), 0)) == []
    assert acd.next_deadline() == 30
    out = acd.tick(30)
    offer = offers(out)[0]
    assert offer.agent_ids == ("novice",)
    assert offer.explanation.escalation_step == 1
    assert offer.explanation.required_levels == {"billing": 5}


def test_strict_and_weighted_priority():
    policy = QueuePolicy("q", "longest_idle", {"sales": 1})
    acd = acd_with(policy, {"a1": {"sales": 5}}, ready=False)
    acd.enqueue(contact("old", at=0, priority=0), 0)
    acd.enqueue(contact("vip", at=50, priority=5), 50)
    out = acd.login("a1", 60)
    assert offers(out)[0].contact_id == "vip"  # strict: VIP first
    weighted = QueuePolicy(
        "q", "longest_idle", {"sales": 1}, priority_mode="weighted", priority_weight_seconds=10
    )
    acd = acd_with(weighted, {"a1": {"sales": 5}}, ready=False)
    acd.enqueue(contact("old", at=0, priority=0), 0)  # 60 s waited at t=60
    acd.enqueue(contact("vip", at=50, priority=5), 50)  # 5*10 + 10 = 60 → tie, old first
    acd.enqueue(contact("vip2", at=55, priority=4), 55)  # 4*10 + 5 = 45
    assert offers(acd.login("a1", 60))[0].contact_id == "old"


def test_last_agent_is_waited_for_then_anyone():
    policy = QueuePolicy("q", "longest_idle", {"sales": 1}, last_agent_seconds=20)
    acd = acd_with(policy, {"a1": {"sales": 5}, "a2": {"sales": 5}})
    acd.set_not_ready("a2", 0, "break")
    acd.enqueue(contact("busy", at=0), 0)  # a1 takes this one
    acd.offer_answered("busy", "a1", 0)
    acd.set_ready("a2", 1)
    out = acd.enqueue(contact("c1", at=2, last_agent_id="a1"), 2)
    assert offers(out) == []  # a2 is ready, but the customer's agent a1 is preferred
    acd.call_ended("a1", 5)
    out = acd.end_wrap_up("a1", 6)
    offer = offers(out)[0]
    assert offer.agent_ids == ("a1",) and "last agent" in offer.explanation.rule
    # when the last agent stays busy, the call falls back after the window
    acd.enqueue(contact("c2", at=10, last_agent_id="a1"), 10)
    assert offers(acd.tick(30))[0].agent_ids == ("a2",)


def test_fair_distribution_keeps_occupancy_within_the_cap():
    policy = QueuePolicy(
        "q", "top_down", {"sales": 1}, occupancy_cap=0.5, occupancy_window=600, wrap_up_seconds=0
    )
    acd = acd_with(
        policy, {"fast": {"sales": 5}, "slow": {"sales": 5}}, fast={"order": 1}, slow={"order": 2}
    )
    now, taken = 0.0, []
    for i in range(40):
        out = acd.enqueue(contact(f"c{i}", at=now), now)
        agent = offers(out)[0].agent_ids[0]
        taken.append(agent)
        acd.offer_answered(f"c{i}", agent, now)
        acd.call_ended(agent, now + 10)
        now += 15
    assert taken.count("slow") >= 8  # top-down alone would give all 40 calls to "fast"
    for agent in acd.agents.values():
        from icm.domain.acd.agent_fsm import occupancy

        assert occupancy(agent, now, 600) <= 0.55


def test_reserve_agents_only_above_the_threshold():
    policy = QueuePolicy("q", "longest_idle", {"sales": 1}, reserve_threshold=2)
    acd = acd_with(
        policy, {"main": {"sales": 5}, "reserve": {"sales": 5}}, reserve={"reserve": True}
    )
    acd.enqueue(contact("c1", at=0), 0)  # main takes it
    assert offers(acd.enqueue(contact("c2", at=1), 1)) == []
    assert offers(acd.enqueue(contact("c3", at=2), 2)) == []
    out = acd.enqueue(contact("c4", at=3), 3)  # 3 waiting > threshold 2
    assert offers(out)[0].agent_ids == ("reserve",)
    assert offers(out)[0].contact_id == "c2"  # the head of the queue, not the newcomer


def test_overflow_after_seconds_to_another_queue():
    acd = Acd()
    acd.set_policy(QueuePolicy("q", overflow=(Overflow("queue", "backup", after_seconds=60),)), 0)
    acd.set_policy(QueuePolicy("backup"), 0)
    acd.enqueue(contact("c1", at=0), 0)
    assert acd.next_deadline() == 60
    out = acd.tick(60)
    done = finished(out)[0]
    assert (done.outcome, done.target_kind, done.target) == (
        ContactOutcome.OVERFLOWED,
        "queue",
        "backup",
    )
    assert acd.contacts["c1"].queue == "backup"


def test_overflow_on_expected_wait_to_callback():
    policy = QueuePolicy("q", overflow=(Overflow("callback", expected_wait_over=100),))
    acd = acd_with(policy, {"a1": {}}, ready=False)
    acd.login("a1", 0, ready=False)  # staffed but not ready
    acd.enqueue(contact("c1", at=0), 0)  # 0 ahead: expected wait 0
    out = acd.enqueue(contact("c2", at=1), 1)  # 1 ahead x 180 s handle: 180 > 100
    assert out == [CallbackOverflow("c2", "q")]  # not finished: it keeps its place
    assert acd.contacts["c2"].media is Media.CALLBACK and acd.position("c2", 1) == 2


def test_no_answer_returns_the_call_and_repeated_misses_set_not_ready():
    policy = QueuePolicy("q", "top_down", {"sales": 1}, ring_timeout=15, max_missed=2)
    acd = acd_with(
        policy, {"a1": {"sales": 5}, "a2": {"sales": 5}}, a1={"order": 1}, a2={"order": 2}
    )
    acd.enqueue(contact("c1", at=0), 0)
    out = acd.tick(15)  # a1 does not answer: the call goes to a2, a1 stays ready
    assert offers(out)[0].agent_ids == ("a2",)
    assert acd.agents["a1"].state is AgentState.READY
    acd.offer_answered("c1", "a2", 16)
    acd.enqueue(contact("c2", at=20), 20)
    acd.tick(35)  # a1 misses again: not ready, reason "no answer"
    assert acd.agents["a1"].state is AgentState.NOT_READY
    assert acd.agents["a1"].reason == "no answer"


def test_reject_reroutes_and_reject_not_ready():
    acd = acd_with(
        QueuePolicy("q", "top_down", {"sales": 1}),
        {"a1": {"sales": 5}, "a2": {"sales": 5}},
        a1={"order": 1},
        a2={"order": 2},
    )
    acd.enqueue(contact("c1"), 0)
    out = acd.offer_failed("c1", "a1", 1, "rejected_not_ready")
    assert offers(out)[0].agent_ids == ("a2",)
    assert acd.agents["a1"].state is AgentState.NOT_READY


def test_agent_returns_to_its_prior_state_after_wrap_up():
    acd = acd_with(QueuePolicy("q", wrap_up_seconds=30), {"a1": {}})
    acd.enqueue(contact("c1"), 0)
    acd.offer_answered("c1", "a1", 1)
    acd.set_not_ready("a1", 5, "lunch")  # asked during the call
    acd.call_ended("a1", 60)
    assert acd.agents["a1"].state is AgentState.WRAP_UP
    acd.tick(90)
    assert acd.agents["a1"].state is AgentState.NOT_READY
    assert acd.agents["a1"].reason == "lunch"


def test_not_ready_agent_still_takes_internal_calls():
    from icm.domain.acd.model import CallKind

    acd = acd_with(QueuePolicy("q"), {"a1": {}})
    acd.set_not_ready("a1", 0, "training")
    acd.start_direct_call("a1", 1, CallKind.INTERNAL)
    assert acd.agents["a1"].state is AgentState.ON_CALL
    acd.call_ended("a1", 9)
    assert acd.agents["a1"].state is AgentState.NOT_READY  # no wrap-up, back to not ready
    assert acd.agents["a1"].reason == "training"


def test_live_strategy_change_keeps_waiting_calls():
    acd = acd_with(QueuePolicy("q", "top_down", {"sales": 1}), {"a1": {"sales": 5}}, ready=False)
    acd.enqueue(contact("c1"), 0)
    acd.enqueue(contact("c2"), 1)
    acd.set_policy(QueuePolicy("q", "round_robin", {"sales": 1}, version=2), 2)
    assert set(acd.waiting["q"]) == {"c1", "c2"}
    out = acd.login("a1", 3)
    assert offers(out)[0].explanation.strategy == "round_robin"
    assert offers(out)[0].explanation.policy_version == 2


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (QueuePolicy("q", "fastest_agent"), "unknown"),
        (QueuePolicy("q", ring_timeout=0), "ring_timeout"),
        (QueuePolicy("q", occupancy_cap=1.5), "occupancy_cap"),
        (QueuePolicy("q", skills={"x": 11}), "1-10"),
        (QueuePolicy("q", escalation=(EscalationStep(60, 1), EscalationStep(30, 2))), "increasing"),
        (QueuePolicy("q", overflow=(Overflow("queue", "q", after_seconds=5),)), "itself"),
        (QueuePolicy("q", overflow=(Overflow("moon", after_seconds=5),)), "moon"),
    ],
)
def test_invalid_policies_are_refused_with_a_clear_error(policy, message):
    with pytest.raises(InvalidPolicy, match=message):
        Acd().set_policy(policy, 0)


def test_a_call_back_keeps_its_place_in_the_queue():
    from icm.domain.acd.model import Media

    acd = acd_with(QueuePolicy("q", "longest_idle"), {"a1": {}}, ready=False)
    acd.login("a1", 0, ready=False)
    acd.enqueue(contact("first", at=0), 0)
    acd.enqueue(contact("second", at=1), 1)
    acd.enqueue(contact("third", at=2), 2)
    assert acd.convert_to_callback("second", 3)
    assert acd.position("second", 3) == 2
    acd.abandon("first", 4)  # others may leave; the call-back moves up as a caller would
    out = acd.set_ready("a1", 5)
    offer = offers(out)[0]
    assert (offer.contact_id, offer.media) == ("second", str(Media.CALLBACK))
    done = finished(acd.offer_answered("second", "a1", 6))[0]
    assert done.media == "callback" and done.outcome == ContactOutcome.ANSWERED


def test_a_ready_agent_given_the_skill_live_takes_the_waiting_caller_at_once():
    policy = QueuePolicy("q", "longest_idle", {"sales": 3})
    acd = acd_with(policy, {"junior": {"sales": 1}})
    assert offers(acd.enqueue(contact("c1", at=0), 0)) == []  # nobody may take it
    out = acd.change_agent("junior", {"sales": 4}, 5)
    assert [(o.contact_id, o.agent_ids) for o in offers(out)] == [("c1", ("junior",))]


def test_a_busy_or_not_ready_agent_given_a_skill_is_not_offered_until_ready():
    policy = QueuePolicy("q", "longest_idle", {"sales": 3})
    acd = acd_with(policy, {"junior": {"sales": 1}})
    acd.set_not_ready("junior", 1, "lunch")
    acd.enqueue(contact("c1", at=2), 2)
    assert offers(acd.change_agent("junior", {"sales": 4}, 3)) == []
    assert offers(acd.set_ready("junior", 4))[0].contact_id == "c1"


def test_a_live_skill_change_keeps_the_agents_top_down_order_and_reserve_flag():
    policy = QueuePolicy("q", "top_down", {"sales": 1})
    acd = acd_with(policy, {"a": {"sales": 2}}, a={"order": 7, "reserve": True})
    acd.change_agent("a", {"sales": 5}, 1)
    assert (acd.agents["a"].order, acd.agents["a"].reserve) == (7, True)


def test_a_ring_time_out_stops_the_phone_before_the_call_is_offered_again():
    """Issue 21: an answer lost on the way (the link to the switch froze) left the agent's
    leg answered and parked for ever: the time-out now stops the phone itself, before the
    contact is offered again — to the same agent when it is the only one."""
    policy = QueuePolicy("q", "top_down", {"sales": 1}, ring_timeout=15, max_missed=3)
    acd = acd_with(policy, {"a1": {"sales": 5}})
    acd.enqueue(contact("c1", at=0), 0)
    out = acd.tick(15)
    cancel = next(i for i, o in enumerate(out) if isinstance(o, CancelOffer))
    again = next(i for i, o in enumerate(out) if isinstance(o, OfferContact))
    assert out[cancel] == CancelOffer("c1", ("a1",), "no answer")
    assert cancel < again and out[again].agent_ids == ("a1",)
