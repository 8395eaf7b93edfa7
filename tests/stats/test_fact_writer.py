"""icm's statistics facts reach their tables as given (model defaults for what a fact leaves
out, the database's own insert time), and a batch written twice (a retry after a lost reply)
counts nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stats.fact_models import AgentStateFact, ContactFact, QueueEventFact, SystemSnapshot
from stats.fact_writer import write_facts

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()

BATCH = [
    (
        "contact",
        {
            "switch": "fs1",
            "contact_id": "c1",
            "call_uuid": "u1",
            "queue": "support",
            "agent": "a1",
            "entered_at": T0,
            "answered_at": T0 + 12,
            "ended_at": T0 + 100,
            "outcome": "answered",
            "wait_seconds": 12.0,
            "talk_seconds": 88.0,
        },
    ),
    (
        "contact",
        {
            "switch": "fs1",
            "contact_id": "c2",
            "queue": "support",
            "entered_at": T0 + 5,
            "answered_at": None,
            "ended_at": T0 + 65,
            "outcome": "abandoned",
            "wait_seconds": 60.0,
        },
    ),
    (
        "queue_event",
        {
            "switch": "fs1",
            "kind": "offered",
            "contact_id": "c1",
            "queue": "support",
            "at": T0 + 11,
            "agent": "a1",
        },
    ),
    (
        "agent_state",
        {
            "switch": "fs1",
            "agent": "a1",
            "state": "not_ready",
            "reason": "lunch",
            "started_at": T0 - 600,
            "ended_at": T0,
        },
    ),
    (
        "snapshot",
        {
            "switch": "fs1",
            "at": T0,
            "connected": True,
            "calls_up": 3,
            "queues": {"support": {"waiting": 2, "longest": 41.5}},
            "agents": {"ready": 4, "on_call": 1},
        },
    ),
]


@pytest.mark.django_db
def test_every_kind_of_fact_is_stored_as_given():
    assert write_facts(BATCH) == 5
    answered = ContactFact.objects.get(contact_id="c1")
    assert answered.answered_at == datetime.fromtimestamp(T0 + 12, tz=UTC)
    assert (answered.agent, answered.talk_seconds, answered.media) == ("a1", 88.0, "voice")
    assert answered.inserted_at is not None  # filled by the database
    abandoned = ContactFact.objects.get(contact_id="c2")
    assert (abandoned.answered_at, abandoned.call_uuid, abandoned.transferred) == (None, "", False)
    offered = QueueEventFact.objects.get()
    assert (offered.kind, offered.wait_seconds, offered.target) == ("offered", 0.0, "")
    lunch = AgentStateFact.objects.get()
    assert (lunch.reason, lunch.queue) == ("lunch", "")
    assert (lunch.ended_at - lunch.started_at).total_seconds() == 600
    snapshot = SystemSnapshot.objects.get()
    assert snapshot.queues == {"support": {"waiting": 2, "longest": 41.5}}
    assert (snapshot.agents["ready"], snapshot.calls_up, snapshot.connected) == (4, 3, True)


@pytest.mark.django_db
def test_a_batch_written_again_counts_nothing_twice():
    write_facts(BATCH)
    write_facts(BATCH)
    assert ContactFact.objects.count() == 2
    assert QueueEventFact.objects.count() == 1
    assert AgentStateFact.objects.count() == 1
    assert SystemSnapshot.objects.count() == 1


@pytest.mark.django_db
def test_a_fact_with_an_unknown_field_is_refused_and_nothing_of_its_batch_is_written():
    bad = [BATCH[0], ("queue_event", {**BATCH[2][1], "colour": "red"})]
    with pytest.raises(TypeError):
        write_facts(bad)
    assert ContactFact.objects.count() == 0
