"""Call-backs nobody answers (issue 20 item 3) on real PostgreSQL: each dial of the customer is
logged once, an unanswered one makes the call-back due again after its queue's spacing, the
last one ends it `unreachable`; a repeated report changes nothing; a lost outcome closes its
dial so the next dispatch is the next attempt; the outcome shows on the desktop, in the admin
and in the report. icm's side is the responder of tests.agents.test_callbacks."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from agents import callback_retry
from agents.callbacks import dispatch_due, for_agent
from agents.models import CallbackAttempt, CallbackRetryRule, ScheduledCallback
from icm.daemon.calls.store import save_callback_outcomes
from tests.agents.test_callbacks import center, make, reload, responder  # noqa: F401

Status = ScheduledCallback.Status


def ringing(center, **fields):  # noqa: F811
    return make(center, status=Status.RINGING, dispatched_to="agent", **fields)


def outcomes(callback, *rows):
    """As icm's outbox saves them: (callback, outcome, detail, attempt, at)."""
    now = timezone.now()
    save_callback_outcomes([(str(callback.pk), o, d, n, now.timestamp()) for o, d, n in rows], now)


def test_an_unanswered_dial_is_due_again_after_the_queues_spacing_then_unreachable(center):  # noqa: F811
    CallbackRetryRule.objects.create(queue=center.queue, max_attempts=2, spacing_minutes=15)
    callback = ringing(center, queue=center.queue)
    before = timezone.now()
    outcomes(callback, ("dialling", "leg-1", 1), ("no_answer", "NO_ANSWER", 1))
    row = reload(callback)
    assert row.status == Status.PENDING
    assert timedelta(minutes=15) <= row.next_attempt_at - before < timedelta(minutes=16)
    assert row.last_error.startswith("attempt 1 of 2: no answer; next at")

    ScheduledCallback.objects.filter(pk=callback.pk).update(status=Status.RINGING)
    outcomes(callback, ("dialling", "leg-2", 2), ("busy", "USER_BUSY", 2))
    row = reload(callback)
    assert row.status == Status.UNREACHABLE
    assert list(
        CallbackAttempt.objects.filter(callback=callback).values_list("number", "outcome", "leg")
    ) == [(1, "no_answer", "leg-1"), (2, "busy", "leg-2")]


def test_without_a_queue_rule_the_default_rule_applies(center, settings):  # noqa: F811
    settings.IPBX_CALLBACK_MAX_ATTEMPTS = 1
    callback = ringing(center)  # an agent's own call-back, no queue
    outcomes(callback, ("dialling", "leg-1", 1), ("failed", "NORMAL_TEMPORARY_FAILURE", 1))
    assert reload(callback).status == Status.UNREACHABLE


def test_a_report_repeated_after_a_restart_changes_nothing(center):  # noqa: F811
    callback = ringing(center)
    outcomes(callback, ("dialling", "leg-1", 1), ("no_answer", "NO_ANSWER", 1))
    first = reload(callback)
    ScheduledCallback.objects.filter(pk=callback.pk).update(status=Status.RINGING)
    # the outbox replays the same two rows: attempt 1 keeps its outcome, the row is untouched
    outcomes(callback, ("dialling", "leg-1", 1), ("answered", "late", 1))
    assert reload(callback).status == Status.RINGING
    assert CallbackAttempt.objects.get(callback=callback).outcome == "no_answer"
    assert first.status == Status.PENDING


def test_an_answer_after_the_outcome_was_swept_still_marks_it_reached(center):  # noqa: F811
    callback = make(center)  # pending again: its outcome was late
    outcomes(callback, ("dialling", "leg-1", 1), ("answered", "5550001 answered", 1))
    assert reload(callback).status == Status.DONE


def test_a_cancelled_call_back_keeps_the_dial_in_its_log_and_stays_cancelled(center):  # noqa: F811
    callback = make(center, status=Status.CANCELLED)
    outcomes(callback, ("dialling", "leg-1", 1), ("no_answer", "NO_ANSWER", 1))
    assert reload(callback).status == Status.CANCELLED
    assert CallbackAttempt.objects.get(callback=callback).outcome == "no_answer"


def test_a_lost_outcome_closes_its_dial_and_the_next_dispatch_is_the_next_attempt(
    center,  # noqa: F811
    responder,  # noqa: F811
):
    icm = responder()
    callback = make(center)
    now = timezone.now()
    assert dispatch_due(now) == 1
    outcomes(callback, ("dialling", "leg-1", 1))  # then icm restarted: no outcome
    assert dispatch_due(now + timedelta(minutes=11)) == 1
    assert [a["attempt"] for a in icm.received] == [1, 2]
    lost = CallbackAttempt.objects.get(callback=callback, number=1)
    assert (lost.outcome, lost.detail) == ("failed", "outcome lost (icm)")


def test_a_lost_outcome_of_the_last_attempt_ends_it_unreachable(center, responder, settings):  # noqa: F811
    settings.IPBX_CALLBACK_MAX_ATTEMPTS = 1
    icm = responder()
    callback = make(center)
    now = timezone.now()
    assert dispatch_due(now) == 1
    outcomes(callback, ("dialling", "leg-1", 1))
    assert dispatch_due(now + timedelta(minutes=11)) == 0
    assert reload(callback).status == Status.UNREACHABLE and len(icm.received) == 1


def test_a_long_spacing_does_not_make_the_call_back_fail_as_late(center, responder):  # noqa: F811
    CallbackRetryRule.objects.create(queue=center.queue, max_attempts=3, spacing_minutes=120)
    icm = responder()
    callback = ringing(center, queue=center.queue)
    outcomes(callback, ("dialling", "leg-1", 1), ("no_answer", "NO_ANSWER", 1))
    due = reload(callback).next_attempt_at
    assert dispatch_due(due + timedelta(seconds=1)) == 1  # 2 h after: still the next attempt
    assert icm.received[-1]["attempt"] == 2


def test_the_desktop_admin_and_report_show_the_outcome(center, client):  # noqa: F811
    callback = ringing(center)
    CallbackAttempt.objects.create(
        callback=callback, number=1, started_at=timezone.now(), outcome="no_answer"
    )
    ScheduledCallback.objects.filter(pk=callback.pk).update(status=Status.UNREACHABLE)
    shown = {c["id"]: c for c in for_agent(center.ag1)}[callback.pk]
    assert shown["status"] == "unreachable"
    assert shown["outcome"] == "unreachable after 1 dial(s), the last no answer"
    assert [d["outcome"] for d in shown["dials"]] == ["no_answer"]

    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    page = client.get("/admin/agents/scheduledcallback/").content.decode()
    assert "unreachable after 1 dial(s), the last no answer" in page
    detail = client.get(f"/admin/agents/scheduledcallback/{callback.pk}/change/").content.decode()
    assert "No answer" in detail
    day = timezone.localdate().isoformat()
    r = client.get(f"/api/stats/reports/callbacks/?since={day}&until={day}&export=csv")
    assert r.status_code == 200 and "unreachable after 1 dial(s)" in r.content.decode()
    page = client.get(f"/stats/reports/callbacks/?since={day}&until={day}")
    assert page.status_code == 200 and "unreachable after 1 dial(s)" in page.content.decode()
    bad = client.get("/api/stats/reports/callbacks/?since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["detail"]


def test_the_rule_is_checked_in_the_admin(center, client):  # noqa: F811
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    r = client.post(
        "/admin/agents/callbackretryrule/add/",
        {"queue": center.queue.pk, "max_attempts": 0, "spacing_minutes": 10, "ring_seconds": 30},
    )
    assert r.status_code == 200 and "greater than or equal to 1" in r.content.decode()
    assert not CallbackRetryRule.objects.exists()
    assert callback_retry.rule_for(make(center, queue=center.queue)).max_attempts == 3


def test_a_callers_unanswered_call_back_is_kept_once_as_a_booked_one(center):  # noqa: F811
    CallbackRetryRule.objects.create(queue=center.queue, max_attempts=3, spacing_minutes=10)
    now = timezone.now()
    report = ("", "caller_busy", "USER_BUSY", 1, now.timestamp())
    dial = {"queue": center.queue.name, "number": "+4420123456", "leg": "leg-9"}
    save_callback_outcomes([(*report, dial), (*report, dial)], now)  # replayed: once
    kept = ScheduledCallback.objects.get(number="+4420123456")
    assert (kept.source, kept.status, kept.queue, kept.customer) == (
        "ivr",
        Status.PENDING,
        center.queue,
        center.customer,
    )
    assert kept.next_attempt_at - kept.due_at == timedelta(minutes=10)
    assert list(kept.dial_attempts.values_list("number", "outcome", "leg")) == [
        (1, "busy", "leg-9")
    ]
    # a queue that is gone, or a number no call-back may have: logged, nothing kept
    save_callback_outcomes([(*report, {**dial, "queue": "gone", "leg": "leg-10"})], now)
    save_callback_outcomes([(*report, {**dial, "number": "12ab", "leg": "leg-11"})], now)
    assert ScheduledCallback.objects.count() == 1
