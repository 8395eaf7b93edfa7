"""The aggregation on real PostgreSQL: hand-computed interval rows from facts; running it
again, or on two connections at once, changes nothing; a fact an hour late updates its
window and its day; a rebuild of a range gives the same rows."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection

from icm.models import Queue, Site
from stats.aggregate import aggregate
from stats.models import (
    AgentInterval,
    ContactFact,
    ContactInterval,
    DirtyWindow,
    NotReadyInterval,
)
from tests.stats.facts_data import T0, at, contact, make_facts


@pytest.fixture
def day(transactional_db, settings):
    settings.TIME_ZONE = "Europe/Paris"  # 09:00 UTC is 10:00 local; the day starts 23:00 UTC
    settings.IPBX_SHORT_ABANDON_SECONDS = 5
    site = Site.objects.create(code="st", name="Stats", sip_domain="st.local")
    Queue.objects.create(
        site=site, name="support", display_name="Support", service_level_seconds=20
    )
    make_facts()
    return site


def rows(period: str = "15m"):
    return {(r.start, r.dimension, r.key): r for r in ContactInterval.objects.filter(period=period)}


def snapshot():
    def plain(qs):
        return sorted(
            tuple(v for k, v in r.__dict__.items() if k not in ("_state", "id")) for r in qs
        )

    return (
        plain(ContactInterval.objects.all()),
        plain(AgentInterval.objects.all()),
        plain(NotReadyInterval.objects.all()),
    )


def test_interval_rows_equal_the_hand_computed_values(day):
    done = aggregate()
    assert done["windows"] >= 2 and done["days"] == 1
    first = rows()[(T0, "queue", "support")]
    assert (
        first.offered,
        first.answered,
        first.abandoned,
        first.short_abandoned,
        first.overflowed,
    ) == (5, 2, 2, 1, 1)
    assert first.answered_in_sl == 1  # 10 s ≤ 20 s; 30 s is not
    assert first.wait_answered == 40 and first.max_wait == 60 and first.wait_abandoned == 43
    assert (first.talk, first.wrap, first.transfers) == (180, 30, 1)
    second = rows()[(at(15), "queue", "support")]
    assert (second.offered, second.answered, second.answered_in_sl) == (1, 1, 1)
    skill = rows()[(T0, "skill", "en")]
    assert (skill.offered, skill.answered) == (2, 2)
    assert not any(k[1] == "campaign" for k in rows())  # no campaign: no row
    # the local day (Paris) = the sum of its windows
    day_start = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    whole = rows("day")[(day_start, "queue", "support")]
    assert (whole.offered, whole.answered, whole.answered_in_sl, whole.max_wait) == (6, 3, 2, 60)
    assert whole.talk == 280
    agent = {r.start: r for r in AgentInterval.objects.filter(period="15m", agent="a1")}
    assert agent[T0].ready == 60 and agent[T0].on_call == 120 and agent[T0].wrap_up == 30
    assert agent[T0].not_ready == 11.5 * 60 and agent[at(15)].not_ready == 5 * 60
    assert agent[T0].handled == 2 and agent[at(15)].handled == 1
    lunch = NotReadyInterval.objects.get(period="day", agent="a1", reason="lunch")
    assert lunch.seconds == 16.5 * 60
    assert not DirtyWindow.objects.exists()


def test_twice_and_in_parallel_change_nothing(day, django_db_blocker):
    aggregate()
    before = snapshot()
    assert aggregate()["windows"] == 0
    call_command("stats_rebuild", "--since", "2026-11-30", "--until", "2026-11-30")
    assert snapshot() == before
    # two workers at once: the second waits for the first's lock, then finds the same
    from stats.aggregate import mark_range

    mark_range(T0.date(), T0.date())
    results, errors = [], []

    def worker():
        try:
            with django_db_blocker.unblock():
                results.append(aggregate())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r["windows"] for r in results)[0] == 0  # one did it, the other found none
    assert snapshot() == before


def test_a_fact_an_hour_late_updates_its_window_and_day(day):
    aggregate()
    ContactFact.objects.create(
        **{
            k: v
            for k, v in contact(7, 3, "abandoned", 12).__dict__.items()
            if not k.startswith("_") and k != "id"
        }
    )
    assert DirtyWindow.objects.filter(start=T0).exists()
    aggregate()
    first = rows()[(T0, "queue", "support")]
    assert (first.offered, first.abandoned, first.short_abandoned) == (6, 3, 1)
    day_start = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert rows("day")[(day_start, "queue", "support")].offered == 7
    # a late fact for another day leaves this one alone
    assert ContactInterval.objects.filter(period="day").count() == 2  # queue + skill
