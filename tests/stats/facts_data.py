"""A small hand-computable set of facts (a Monday morning of queue "support" and agent a1)
shared by the aggregation and report tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stats.models import AgentStateFact, ContactFact

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def contact(
    n: int,
    entered: float,
    outcome: str,
    wait: float,
    talk: float = 0.0,
    wrap: float = 0.0,
    agent: str = "",
    **extra,
) -> ContactFact:
    answered = at(entered) + timedelta(seconds=wait) if outcome == "answered" else None
    return ContactFact(
        switch="fs1",
        contact_id=f"c{n}",
        queue="support",
        agent=agent,
        entered_at=at(entered),
        answered_at=answered,
        ended_at=at(entered) + timedelta(seconds=wait + talk + wrap),
        outcome=outcome,
        wait_seconds=wait,
        talk_seconds=talk,
        wrap_seconds=wrap,
        **extra,
    )


def state(agent: str, name: str, start: float, end: float, reason: str = "") -> AgentStateFact:
    return AgentStateFact(
        switch="fs1", agent=agent, state=name, reason=reason, started_at=at(start), ended_at=at(end)
    )


def make_facts() -> None:
    """Window 09:00: 5 offered (2 answered — 10 s and 30 s waits —, 2 abandoned of which 1
    short, 1 overflowed); window 09:15: 1 answered; agent a1 ready 1 min, on call 2 min,
    wrap-up 30 s, then lunch 16.5 min."""
    ContactFact.objects.bulk_create(
        [
            contact(1, 1, "answered", 10, talk=120, wrap=30, agent="a1", skill="en"),
            contact(
                2, 2, "answered", 30, talk=60, wrap=0, agent="a1", skill="en", transferred=True
            ),
            contact(3, 5, "abandoned", 3),  # a short abandon
            contact(4, 6, "abandoned", 40),
            contact(5, 14, "overflowed", 60),
            contact(6, 16, "answered", 20, talk=100, wrap=20, agent="a1"),  # the next window
        ]
    )
    AgentStateFact.objects.bulk_create(
        [
            state("a1", "ready", 0, 1),
            state("a1", "on_call", 1, 3),
            state("a1", "wrap_up", 3, 3.5),
            state("a1", "not_ready", 3.5, 20, reason="lunch"),  # 11.5 min here, 5 in the next
        ]
    )
