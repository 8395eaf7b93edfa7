"""Per-queue reserve agents and top-down order (R-6), and agents whose phone cannot be rung
(ICM-1): who is offered a contact, and the reason the others are left out."""

from icm.domain.acd.model import QueuePolicy

from .helpers import acd_with, contact, offers, serve


def test_a_reserve_in_one_queue_works_normally_in_another():
    sales = QueuePolicy("sales", "longest_idle", {"sales": 1}, reserve_threshold=1)
    sales = QueuePolicy(**{**_fields(sales), "reserve_agents": frozenset({"res"})})
    acd = acd_with(sales, {"main": {"sales": 5, "help": 5}, "res": {"sales": 5, "help": 5}})
    acd.set_policy(QueuePolicy("help", "longest_idle", {"help": 1}), 0)
    serve(acd, offers(acd.enqueue(contact("s1", "sales", at=1), 1))[0].contact_id, 1)
    assert offers(acd.enqueue(contact("s2", "sales", at=2), 2)) == []  # 1 waiting: not busy
    out = acd.enqueue(contact("h1", "help", at=3), 3)  # not a reserve in help
    assert offers(out)[0].agent_ids == ("res",)


def test_the_reserve_reason_names_the_rule_it_waits_for():
    policy = QueuePolicy(
        "q",
        "longest_idle",
        {"sales": 1},
        reserve_threshold=2,
        reserve_service_level=0.8,
        reserve_agents=frozenset({"res"}),
    )
    acd = acd_with(policy, {"main": {"sales": 5}, "res": {"sales": 5}})
    acd.set_unreachable("main", "phone not registered", 0)
    assert offers(acd.enqueue(contact("c1", at=1), 1)) == []  # res: the queue is not busy
    offer = offers(acd.set_unreachable("main", "", 2))[0]
    assert offer.agent_ids == ("main",)
    assert offer.explanation.excluded == {
        "res": "reserve agent, queue not busy "
        "(joins at more than 2 waiting or service level below 80%)"
    }


def test_top_down_follows_the_queues_own_order_then_unplaced_agents():
    policy = QueuePolicy("q", "top_down", {"sales": 1}, agent_order={"c": 0, "a": 5})
    acd = acd_with(policy, {"a": {"sales": 1}, "b": {"sales": 1}, "c": {"sales": 1}})
    taken = []
    for i in range(3):
        offer = offers(acd.enqueue(contact(f"k{i}", at=i), i))[0]
        taken.append(offer.agent_ids[0])
        if i == 0:
            ranked = [(c.agent_id, c.detail) for c in offer.explanation.chosen]
            assert ranked == [("c", "position")]
            assert offer.explanation.eligible == ("c", "a", "b")
        acd.offer_answered(f"k{i}", offer.agent_ids[0], i)
    assert taken == ["c", "a", "b"]


def test_an_agent_whose_phone_cannot_be_rung_is_left_out_with_the_reason():
    policy = QueuePolicy("q", "top_down", {"sales": 1}, agent_order={"a": 1, "b": 2})
    acd = acd_with(policy, {"a": {"sales": 1}, "b": {"sales": 1}})
    acd.set_unreachable("a", "phone not registered", 0)
    acd.set_unreachable("b", "phone not registered", 0)
    assert offers(acd.enqueue(contact("c1", at=1), 1)) == []
    out = acd.set_unreachable("b", "", 2)  # b's phone registers: it takes the caller at once
    offer = offers(out)[0]
    assert offer.agent_ids == ("b",)
    assert offer.explanation.excluded == {"a": "phone not registered"}
    assert acd.set_unreachable("a", "", 3) == []  # a is ready, but nobody waits any more


def test_a_phone_that_comes_back_while_its_agent_is_not_ready_offers_nothing():
    policy = QueuePolicy("q", "longest_idle", {"sales": 1})
    acd = acd_with(policy, {"a": {"sales": 1}})
    acd.set_unreachable("a", "phone not registered", 0)
    acd.set_not_ready("a", 1, "lunch")
    acd.enqueue(contact("c1", at=2), 2)
    assert acd.set_unreachable("a", "", 3) == []
    assert offers(acd.set_ready("a", 4))[0].contact_id == "c1"


def _fields(policy: QueuePolicy) -> dict:
    return {name: getattr(policy, name) for name in policy.__dataclass_fields__}
