"""Call-backs nobody answers (issue 20 item 3), through switchsim and icm: the customer's
phone does not answer, the call-back is dialled again after its queue's spacing and the
customer is connected on the 2nd attempt; a customer who never answers leaves the call-back
`unreachable`, with each dial logged and the outcome in the report and its CSV export.

The originate job of the customer's leg answers either before the bridge (`+OK`) or after it
(`-ERR ORIGINATOR_CANCEL`, as a real FreeSWITCH does): both orders are run, and the leg's own
events decide the outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.callbacks import dispatch_due
from agents.models import CallbackAttempt, CallbackRetryRule, ScheduledCallback
from icm.models import CallLeg, Gateway, Queue, Site, Switch
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import call_center, set_state, transitions  # noqa: F401

Status = ScheduledCallback.Status


def setup(call_center, platform, rule: dict) -> Queue:  # noqa: F811
    queue = Queue.objects.get(name="helpdesk")
    CallbackRetryRule.objects.create(queue=queue, **rule)
    Switch.objects.filter(name=platform.switch).update(site=Site.objects.get(code="acd"))
    Gateway.objects.create(
        switch=Switch.objects.get(name=platform.switch), name="carrier", proxy="198.51.100.10"
    )
    return queue


def book(number: str, queue: Queue) -> ScheduledCallback:
    from agents.models import Agent

    now = timezone.now()
    return ScheduledCallback.objects.create(
        agent=Agent.objects.get(login_id="ag1"),
        queue=queue,
        number=number,
        due_at=now - timedelta(seconds=1),
        next_attempt_at=now - timedelta(seconds=1),
        note="wants the refund status",
    )


def row(callback: ScheduledCallback) -> ScheduledCallback:
    return ScheduledCallback.objects.get(pk=callback.pk)


def dials(callback: ScheduledCallback) -> list[tuple[int, str]]:
    return list(
        CallbackAttempt.objects.filter(callback=callback)
        .order_by("number")
        .values_list("number", "outcome")
    )


def customer_bridged_to_agent(esl, number: str) -> CallLeg | None:
    leg = CallLeg.objects.filter(channel_name__contains=f"{number}@carrier").order_by("-created_at")
    found = leg.first()
    if found is None or found.bridged_at is None:
        return None
    partner = esl.api(f"uuid_getvar {found.uuid} bridge_channel").strip()
    return found if "1101" in partner else None


@pytest.mark.parametrize(
    "reply_delay", ["0.3", "0"], ids=["job-reply-after-bridge", "job-reply-before-bridge"]
)
def test_an_unanswered_call_back_is_dialled_again_and_connected_on_the_second_attempt(
    call_center,  # noqa: F811
    platform_factory,
    reply_delay,
):
    platform = platform_factory("--originate-reply-delay", reply_delay)
    queue = setup(
        call_center, platform, {"max_attempts": 3, "spacing_minutes": 2, "ring_seconds": 5}
    )
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    assert esl.api("sim_far_end 5550201 no_answer,answered ring=0.3 talk=30").startswith("+OK")
    set_state(call_center, platform, "ag1", "login")
    callback = book("5550201", queue)

    assert dispatch_due() == 1  # ag1's phone rings, it answers, the customer is dialled …
    wait_until(
        lambda: dials(callback) == [(1, "no_answer")], timeout=30, what="attempt 1 unanswered"
    )
    first = wait_until(
        lambda: row(callback) if row(callback).status == Status.PENDING else None,
        what="the call-back pending again",
    )
    assert "attempt 1 of 3: no answer" in first.last_error
    ended = CallbackAttempt.objects.get(callback=callback, number=1).ended_at
    assert timedelta(minutes=2) <= first.next_attempt_at - ended <= timedelta(minutes=2, seconds=1)
    wait_until(lambda: transitions("ag1")[-1][1] == "ready", what="ag1 free again")
    assert dispatch_due(timezone.now() + timedelta(minutes=1)) == 0  # not before the spacing

    assert dispatch_due(first.next_attempt_at + timedelta(seconds=1)) == 1
    leg = wait_until(
        lambda: customer_bridged_to_agent(esl, "5550201"),
        timeout=30,
        what="the customer bridged to ag1 on the 2nd attempt",
    )
    wait_until(lambda: row(callback).status == Status.DONE, what="the call-back done")
    assert dials(callback) == [(1, "no_answer"), (2, "answered")]
    assert CallbackAttempt.objects.get(callback=callback, number=2).leg == leg.uuid
    time_ = 1.5  # the job's reply (whatever it said) has arrived: still bridged
    import time

    time.sleep(time_)
    assert customer_bridged_to_agent(esl, "5550201") is not None
    assert transitions("ag1")[-1][1] == "on_call"
    esl.api("hupall NORMAL_CLEARING")
    esl.close()


def test_a_customer_who_never_answers_ends_unreachable_and_is_reported(
    call_center,  # noqa: F811
    platform_factory,
):
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    platform = platform_factory()
    queue = setup(
        call_center, platform, {"max_attempts": 2, "spacing_minutes": 1, "ring_seconds": 5}
    )
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    esl.api("sim_far_end 5550202 no_answer,busy ring=0.3")
    set_state(call_center, platform, "ag1", "login")
    callback = book("5550202", queue)

    assert dispatch_due() == 1
    wait_until(lambda: row(callback).status == Status.PENDING, timeout=30, what="attempt 1 over")
    wait_until(lambda: transitions("ag1")[-1][1] == "ready", what="ag1 free again")
    assert dispatch_due(row(callback).next_attempt_at + timedelta(seconds=1)) == 1
    final = wait_until(
        lambda: row(callback) if row(callback).status == Status.UNREACHABLE else None,
        timeout=30,
        what="the call-back unreachable after its last attempt",
    )
    assert dials(callback) == [(1, "no_answer"), (2, "busy")]
    assert final.last_error == "unreachable: 2 attempt(s), the last busy"
    # nothing dials it again
    assert dispatch_due(timezone.now() + timedelta(hours=2)) == 0
    assert CallLeg.objects.filter(channel_name__contains="5550202@carrier").count() == 2

    client = APIClient()
    client.force_authenticate(User.objects.get(username="sup"))
    day = timezone.localdate().isoformat()
    report = client.get(f"/api/stats/reports/callbacks/?since={day}&until={day}").json()
    line = next(r for r in report["rows"] if r["id"] == callback.pk)
    assert (line["status"], line["dials"], line["last_dial_outcome"]) == ("unreachable", 2, "busy")
    assert line["outcome"] == "unreachable after 2 dial(s), the last busy"
    csv = client.get(f"/api/stats/reports/callbacks/?since={day}&until={day}&export=csv")
    assert (
        csv.status_code == 200
        and "unreachable after 2 dial(s), the last busy" in csv.content.decode()
    )
    esl.close()


def test_a_callers_call_back_from_the_queue_nobody_answers_is_retried_by_the_rule(
    call_center,  # noqa: F811
    platform_factory,
):
    """The caller pressed 1 to keep its place and hung up; when ag1's turn comes the
    customer does not answer: the call-back becomes a booked one of the queue (source IVR,
    dial 1 logged), due after the spacing, and the next dial reaches the customer."""
    platform = platform_factory(IPBX_CALLBACK_RING_SECONDS="5")  # a caller's first dial
    setup(call_center, platform, {"max_attempts": 2, "spacing_minutes": 5, "ring_seconds": 5})
    esl = platform.control()
    esl.api("sim_far_end 5550209 no_answer,answered ring=0.3 talk=30")
    uuid = esl.api("sim_call 5550209 8123 patience=600").split()[1]
    platform.icm.wait_log("handed to queue helpdesk")
    assert esl.api(f"sim_dtmf {uuid} 1").startswith("+OK")
    platform.icm.wait_log("call-back requested to 5550209")
    esl.api(f"uuid_kill {uuid}")  # the caller hangs up: its place is kept
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")  # its turn: ag1, then the customer
    booked = wait_until(
        lambda: ScheduledCallback.objects.filter(number="5550209").first(),
        timeout=30,
        what="the unanswered caller's call-back kept as a booked one",
    )
    assert (booked.queue.name, booked.source, booked.status) == ("helpdesk", "ivr", "pending")
    assert dials(booked) == [(1, "no_answer")]
    assert booked.next_attempt_at - booked.due_at == timedelta(minutes=5)
    wait_until(lambda: transitions("ag1")[-1][1] == "ready", what="ag1 free again")
    assert dispatch_due(timezone.now()) == 0  # not before the spacing

    assert dispatch_due(booked.next_attempt_at + timedelta(seconds=1)) == 1  # its queue
    wait_until(
        lambda: customer_bridged_to_agent(esl, "5550209"),
        timeout=30,
        what="the customer bridged to ag1 on the 2nd dial",
    )
    wait_until(lambda: row(booked).status == Status.DONE, what="the call-back reached")
    assert dials(booked) == [(1, "no_answer"), (2, "answered")]
    esl.api("hupall NORMAL_CLEARING")
    esl.close()
