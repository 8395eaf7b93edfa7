"""Callers leaving a queue without an agent (R-7, R-9): each overflow target, the maximum
wait, a call-back that keeps the caller's place, and the key press to leave for voicemail."""

from __future__ import annotations

import pytest

from icm.domain.acd.model import Media, Overflow, QueuePolicy
from icm.domain.acd.outputs import CallbackOverflow
from icm.domain.acd.strategies import InvalidPolicy, validate_policy
from tests.acd.helpers import acd_with, contact, finished, offers


def _unstaffed(*rules: Overflow, max_wait: float | None = None, **queues: QueuePolicy):
    policy = QueuePolicy("q", skills={"sales": 1}, overflow=rules, max_wait=max_wait)
    acd = acd_with(policy, {"a1": {"sales": 1}}, ready=False)
    for extra in queues.values():
        acd.set_policy(extra, 0)
    return acd


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("voicemail", ""),
        ("voicemail", "sales-box"),
        ("extension", "1200"),
        ("number", "+15551234"),
        ("flow", "after-hours"),
        ("hangup", ""),
    ],
)
def test_an_overdue_caller_leaves_for_the_rule_target(kind, target):
    acd = _unstaffed(Overflow(kind, target, after_seconds=30))
    acd.enqueue(contact("c1", at=0), 0)
    assert finished(acd.tick(29)) == []
    done = finished(acd.tick(30))
    assert [(d.outcome, d.target_kind, d.target) for d in done] == [("overflowed", kind, target)]
    assert "c1" not in acd.contacts


def test_overflow_to_another_queue_is_offered_there():
    backup = QueuePolicy("backup", skills={"billing": 1})
    acd = _unstaffed(Overflow("queue", "backup", after_seconds=10), backup=backup)
    acd.set_agent("b1", {"billing": 1})
    acd.login("b1", 0)  # ready, but not for q
    acd.enqueue(contact("c1", at=0), 0)
    assert offers(acd.tick(9)) == []
    out = acd.tick(10)
    assert finished(out)[0].target == "backup"
    assert offers(out) and offers(out)[0].queue == "backup"


def test_the_maximum_wait_sends_the_caller_to_the_queue_voicemail():
    acd = _unstaffed(max_wait=60)
    acd.enqueue(contact("c1", at=0), 0)
    done = finished(acd.tick(60))
    assert [(d.target_kind, d.target) for d in done] == [("voicemail", "")]


def test_a_call_back_overflow_keeps_the_place_and_never_overflows_again():
    acd = _unstaffed(Overflow("callback", after_seconds=20), max_wait=60)
    acd.enqueue(contact("c0", at=0), 0)
    acd.enqueue(contact("c1", at=5), 5)
    out = acd.tick(25)  # both overdue: both become call-backs, in their order
    assert CallbackOverflow("c1", "q") in out and CallbackOverflow("c0", "q") in out
    assert [acd.position(c, 25) for c in ("c0", "c1")] == [1, 2]
    assert acd.contacts["c1"].media is Media.CALLBACK
    assert acd.tick(100) == [] and "c1" in acd.contacts  # the maximum wait spares call-backs


def test_a_refused_call_back_leaves_for_voicemail():
    acd = _unstaffed(Overflow("callback", after_seconds=20))
    acd.enqueue(contact("c1", at=0), 0)
    acd.tick(20)
    done = finished(acd.callback_refused("c1", 21))
    assert [(d.target_kind, d.target) for d in done] == [("voicemail", "")]


def test_the_caller_leaves_for_voicemail_by_key_but_not_once_a_phone_rings():
    acd = _unstaffed()
    acd.enqueue(contact("c1", at=0), 0)
    done = acd.leave_queue("c1", "voicemail", 3)
    assert [(d.outcome, d.target_kind) for d in done] == [("overflowed", "voicemail")]
    with pytest.raises(ValueError, match="no longer waits"):
        acd.leave_queue("c1", "voicemail", 4)
    acd.enqueue(contact("c2", at=5), 5)
    acd.login("a1", 5)  # ready: c2 rings a1 now
    with pytest.raises(ValueError, match="phone rings"):
        acd.leave_queue("c2", "voicemail", 6)
    with pytest.raises(ValueError, match="cannot leave"):
        acd.leave_queue("c2", "queue", 6)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Overflow("extension", "", after_seconds=5), "needs a target"),
        (Overflow("flow", "", after_seconds=5), "needs a target"),
        (Overflow("number", "12; hangup", after_seconds=5), "not a phone number"),
        (Overflow("pager", "x", after_seconds=5), "is not one of"),
    ],
)
def test_bad_overflow_rules_are_refused_with_their_reason(rule, message):
    with pytest.raises(InvalidPolicy, match=message):
        validate_policy(QueuePolicy("q", overflow=(rule,)))
