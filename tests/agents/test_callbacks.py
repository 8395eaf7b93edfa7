"""Scheduled call-backs (AG-17) on real PostgreSQL and Redis: booking rules, due selection,
exactly-once dispatch with two dispatchers at once, retries (icm refusing, icm missing, the
bus down, a lost reply, a crashed worker), the queue fallback, the REST API, and a real
Celery worker + beat handing a due call-back to icm. icm's side of `callback_ring` is a small
responder served by the bus's own CommandServer on the real Redis."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from agents import callbacks
from agents.callbacks import (
    AGENT_ONLY_ATTEMPTS,
    MAX_ATTEMPTS,
    RETRY_SECONDS,
    CallbackConflict,
    CallbackForbidden,
    CallbackRefused,
    book,
    cancel,
    claim_next,
    dispatch_due,
    for_agent,
)
from agents.models import Agent, DialRule, ScheduledCallback
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.commands import CommandError, CommandServer
from icm.models import Customer, CustomerNumber, Extension, Queue, Site, Switch
from tests.fixtures.esl_client import free_port
from tests.fixtures.waiting import wait_until

Status = ScheduledCallback.Status


@dataclass
class Center:
    switch: str
    ag1: Agent  # an agent (level 2)
    ag2: Agent  # a trainee
    senior: Agent
    queue: Queue
    customer: Customer


@pytest.fixture
def center(transactional_db) -> Center:
    name = f"cb{uuid.uuid4().hex[:8]}"
    site = Site.objects.create(code=name, name="Call-back site", sip_domain=f"{name}.local")
    Switch.objects.create(site=site, name=name)
    made = []
    for n, (login_id, level) in enumerate((("ag1", 2), ("ag2", 1), ("senior", 3))):
        extension = Extension.objects.create(site=site, number=f"210{n}", password="x")
        user = User.objects.create_user(login_id, password="pw")
        made.append(
            Agent.objects.create(
                login_id=login_id,
                name=login_id.title(),
                user=user,
                extension=extension,
                level=level,
            )
        )
    queue = Queue.objects.create(site=site, name=f"{name}-sales", display_name="Sales")
    DialRule.objects.create(
        name="Premium rate",
        pattern=r"^1900",
        minimum_level=Agent.Level.SENIOR,
        message="Premium-rate numbers need a senior agent.",
    )
    customer = Customer.objects.create(name="Ann Lee", account="A-1")
    CustomerNumber.objects.create(customer=customer, number="+4420123456")
    return Center(name, *made, queue, customer)


class Responder:
    """icm's side of `callback_ring`: records every command it gets and answers with
    `answer(args)` (a CommandError becomes a refusal)."""

    def __init__(self, switch: str, answer: Any = None, delay: float = 0.0) -> None:
        self.received: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.answer = answer or (
            lambda args: {"status": "ringing_agent", "contact": f"c-{args['callback']}"}
        )
        self.delay = delay
        client = redis.Redis.from_url(settings.REDIS_URL)
        self.server = CommandServer(client, switch, {"callback_ring": self.ring}, spawn=self._spawn)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def _spawn(handle: Any, raw: bytes) -> None:
        threading.Thread(target=handle, args=(raw,), daemon=True).start()

    def ring(self, args: dict[str, str]) -> dict[str, str]:
        with self.lock:
            self.received.append(args)
        time.sleep(self.delay)
        return self.answer(args)

    def ids(self) -> list[str]:
        with self.lock:
            return [args["callback"] for args in self.received]

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(5)


@pytest.fixture
def responder(center):
    started: list[Responder] = []

    def start(answer: Any = None, delay: float = 0.0) -> Responder:
        started.append(Responder(center.switch, answer, delay))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def soon(minutes: float = 5) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


def make(center: Center, due_at: datetime | None = None, **fields: Any) -> ScheduledCallback:
    """A row as book() would write it, at any time (also in the past)."""
    due_at = due_at or timezone.now() - timedelta(seconds=1)
    fields = {"agent": center.ag1, "number": "5551234", **fields}
    return ScheduledCallback.objects.create(due_at=due_at, next_attempt_at=due_at, **fields)


def reload(row: ScheduledCallback) -> ScheduledCallback:
    return ScheduledCallback.objects.get(pk=row.pk)


# --- booking ---------------------------------------------------------------------------------


def test_booking_checks_everything_and_finds_the_customer_by_number(center):
    due = soon(30)
    row = book(
        agent=center.ag1,
        number="+44 (20) 123-456",
        due_at=due,
        note="about the bill",
        booked_by=center.ag1,
    )
    assert (row.number, row.customer, row.status, row.source) == (
        "+4420123456",
        center.customer,
        Status.PENDING,
        "agent",
    )
    assert row.next_attempt_at == due and row.attempts == 0
    assert (
        book(queue=center.queue.name, number="4420123456", due_at=due, source="ivr").customer
        == center.customer
    )
    with pytest.raises(CallbackConflict, match="already booked"):
        book(agent=center.ag1, number="+4420123456", due_at=due + timedelta(minutes=10))

    refused = {
        "not a phone number": dict(number="1"),
        "not a phone number ": dict(number="*123"),
        "not a phone number  ": dict(number="1" * 21),
        "not a phone number   ": dict(number=5551234),
        "in the future": dict(due_at=timezone.now() - timedelta(seconds=1)),
        "time zone": dict(due_at=datetime.now() + timedelta(hours=1)),
        "at most 30 days": dict(due_at=timezone.now() + timedelta(days=31)),
        "date and time": dict(due_at="tomorrow"),
        "needs an agent or a queue": dict(agent=None),
        "no enabled queue 'nowhere'": dict(agent=None, queue="nowhere"),
        "at most 1000 characters": dict(note="x" * 1001),
        "unknown source": dict(source="fax"),
    }
    for message, change in refused.items():
        kwargs = {"agent": center.ag1, "number": "5550001", "due_at": due, **change}
        with pytest.raises(CallbackRefused, match=message.strip()):
            book(**kwargs)
    Agent.objects.filter(pk=center.ag2.pk).update(active=False)
    with pytest.raises(CallbackRefused, match="ag2 is not an active agent"):
        book(agent=center.ag2, number="5550001", due_at=due)
    Agent.objects.filter(pk=center.ag2.pk).update(active=True, extension=None)
    with pytest.raises(CallbackRefused, match="no extension"):
        book(agent=center.ag2, number="5550001", due_at=due)
    Queue.objects.filter(pk=center.queue.pk).update(enabled=False)
    with pytest.raises(CallbackRefused, match="no enabled queue"):
        book(queue=center.queue, number="5550001", due_at=due)
    assert ScheduledCallback.objects.count() == 2


def test_the_dialing_rules_of_whoever_books_and_whoever_calls_apply(center):
    due, premium = soon(), "1900 555 1234"
    with pytest.raises(CallbackForbidden, match="Premium-rate numbers need a senior agent."):
        book(agent=center.ag1, number=premium, due_at=due, booked_by=center.ag1)
    with pytest.raises(CallbackForbidden, match="senior"):  # a trainee books for a senior
        book(agent=center.senior, number=premium, due_at=due, booked_by=center.ag2)
    with pytest.raises(CallbackForbidden, match="senior"):  # a senior for a trainee's phone
        book(agent=center.ag2, number=premium, due_at=due, booked_by=center.senior)
    with pytest.raises(CallbackForbidden, match="senior"):  # a caller in the IVR: no toll fraud
        book(queue=center.queue, number=premium, due_at=due, source="ivr")
    row = book(agent=center.senior, number=premium, due_at=due, booked_by=center.senior)
    assert row.number == "19005551234"


def test_the_desktop_lists_an_agents_upcoming_call_backs(center):
    later = make(center, due_at=soon(60), number="5550002")
    first = make(center, due_at=soon(10), number="5550001")
    for_queue = make(
        center,
        due_at=soon(30),
        agent=None,
        queue=center.queue,
        booked_by=center.ag1,
        number="5550003",
    )
    make(center, due_at=soon(5), status=Status.CANCELLED)
    make(center, due_at=soon(5), status=Status.RINGING)
    make(center, due_at=soon(5), agent=center.ag2)
    listed = for_agent(center.ag1)
    assert [c["id"] for c in listed] == [first.pk, for_queue.pk, later.pk]
    assert listed[1]["queue"] == center.queue.name and listed[1]["booked_by"] == "ag1"
    assert listed[0]["agent"] == "ag1" and listed[0]["status"] == "pending"


# --- due selection and leases ----------------------------------------------------------------


def test_only_due_pending_unleased_rows_are_claimed(center):
    now = timezone.now()
    due = make(center)
    expired = make(center, lease_owner="dead", lease_until=now - timedelta(seconds=1))
    make(center, due_at=now + timedelta(minutes=1))  # not yet
    make(center, status=Status.CANCELLED)
    make(center, status=Status.RINGING)
    make(center, lease_owner="alive", lease_until=now + timedelta(minutes=1))
    retry_later = make(center)
    ScheduledCallback.objects.filter(pk=retry_later.pk).update(
        next_attempt_at=now + timedelta(seconds=30)
    )
    claimed = []
    while (row := claim_next(now, "me")) is not None:
        claimed.append(row.pk)
    assert claimed == [due.pk, expired.pk]
    assert reload(expired).lease_owner == "me"
    assert reload(due).lease_until == now + timedelta(seconds=callbacks.lease_seconds())


def test_two_dispatchers_at_once_send_each_due_row_exactly_once(center, responder):
    icm = responder(delay=0.02)
    rows = [make(center, number=f"55500{n:02d}") for n in range(40)]
    now = timezone.now()
    barrier, results = threading.Barrier(2), []

    def dispatcher() -> None:
        try:
            barrier.wait()
            results.append(dispatch_due(now))
        finally:
            connection.close()  # each thread had its own database connection

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    counts = Counter(icm.ids())
    assert sorted(counts) == sorted(str(r.pk) for r in rows)
    assert set(counts.values()) == {1}  # no row sent twice
    assert sum(results) == 40
    for row in ScheduledCallback.objects.all():
        assert (row.status, row.attempts, row.contact) == (Status.RINGING, 1, f"c-{row.pk}")
        assert row.dispatched_to == "agent" and row.lease_owner == "" and row.dispatched_at


def test_a_crashed_workers_lease_expires_and_another_worker_sends_it(center, responder):
    icm = responder()
    row = make(center)
    now = timezone.now()
    assert claim_next(now, "dead-worker").pk == row.pk  # …and that worker dies here
    assert dispatch_due(now) == 0 and icm.ids() == []
    later = now + timedelta(seconds=callbacks.lease_seconds() + 1)
    assert dispatch_due(later) == 1
    wait_until(lambda: icm.ids() == [str(row.pk)], timeout=5, what="one callback_ring")
    assert reload(row).status == Status.RINGING
    # the dead worker's late result is not written over the new one
    assert callbacks._record(row, "dead-worker", status=Status.FAILED) is False
    assert reload(row).status == Status.RINGING


# --- retries ---------------------------------------------------------------------------------


def test_a_busy_agent_is_retried_then_its_queue_takes_the_call_back(center, responder):
    def answer(args: dict[str, str]) -> dict[str, str]:
        if not args["queue"]:
            raise CommandError("agent ag1 is busy")
        return {"status": "queued", "contact": "q-1"}

    icm = responder(answer)
    row = book(
        agent=center.ag1, queue=center.queue, number="+4420123456", due_at=soon(1), note="bill"
    )
    due = row.due_at
    assert dispatch_due(due) == 0
    row = reload(row)
    assert (row.status, row.attempts, row.last_error) == (Status.PENDING, 1, "agent ag1 is busy")
    assert row.next_attempt_at == due + timedelta(seconds=RETRY_SECONDS) and not row.lease_owner
    assert dispatch_due(due + timedelta(seconds=30)) == 0 and len(icm.received) == 1
    for n in range(1, AGENT_ONLY_ATTEMPTS):
        assert dispatch_due(due + timedelta(seconds=n * RETRY_SECONDS)) == 0
    assert dispatch_due(due + timedelta(seconds=AGENT_ONLY_ATTEMPTS * RETRY_SECONDS)) == 1
    row = reload(row)
    assert (row.status, row.dispatched_to, row.contact, row.attempts) == (
        Status.RINGING,
        "queue",
        "q-1",
        AGENT_ONLY_ATTEMPTS + 1,
    )
    assert [a["queue"] for a in icm.received] == [""] * AGENT_ONLY_ATTEMPTS + [center.queue.name]
    assert icm.received[0] == {
        "callback": str(row.pk),
        "agent": "ag1",
        "queue": "",
        "number": "+4420123456",
        "note": "bill",
        "customer": "Ann Lee",
        "attempt": 1,  # the first dial of the customer, ringing as the default rule says
        "ring_seconds": 30,
    }


def test_a_call_back_for_a_queue_alone_rings_the_queue_at_once(center, responder):
    icm = responder(lambda args: {"status": "queued", "contact": "q-2"})
    row = make(center, agent=None, queue=center.queue)
    assert dispatch_due() == 1
    assert icm.received[0]["agent"] == "" and icm.received[0]["queue"] == center.queue.name
    assert reload(row).dispatched_to == "queue"
    # an agent deactivated since booking: its queue takes the call-back at once
    later = make(center, queue=center.queue, number="5550042")
    Agent.objects.filter(pk=center.ag1.pk).update(active=False)
    assert dispatch_due() == 1
    assert icm.received[1]["callback"] == str(later.pk)
    assert (icm.received[1]["agent"], icm.received[1]["queue"]) == ("", center.queue.name)
    alone = make(center, number="5550043")  # …and without a queue it fails, not rung
    assert dispatch_due() == 0 and reload(alone).status == Status.FAILED
    assert "can take it" in reload(alone).last_error and len(icm.received) == 2


def test_an_agent_only_call_back_fails_after_the_last_attempt(center, responder):
    def answer(args: dict[str, str]) -> dict[str, str]:
        raise CommandError("agent ag1 is not signed in")

    icm = responder(answer)
    row = make(center)
    now = timezone.now()
    for n in range(MAX_ATTEMPTS + 2):
        dispatch_due(now + timedelta(seconds=n * RETRY_SECONDS))
    row = reload(row)
    assert (row.status, row.attempts, row.last_error) == (
        Status.FAILED,
        MAX_ATTEMPTS,
        "agent ag1 is not signed in",
    )
    assert len(icm.received) == MAX_ATTEMPTS


def test_without_icm_a_call_back_waits_and_is_never_marked_done(center, responder, settings):
    settings.ICM_COMMAND_REPLY_TIMEOUT = 0.5
    first, second = make(center), make(center, number="5559999")
    now = timezone.now()
    started = time.monotonic()
    assert dispatch_due(now) == 0
    assert time.monotonic() - started < 1.5  # one time-out per run and switch, not one per row
    for row in (reload(first), reload(second)):
        assert (row.status, row.attempts, row.lease_owner) == (Status.PENDING, 0, "")
        assert "did not answer" in row.last_error
        assert row.next_attempt_at == now + timedelta(seconds=RETRY_SECONDS)
    waiting = get_redis().lrange(keys.commands_key(center.switch), 0, -1)
    assert not [c for c in waiting if b"callback_ring" in c]  # withdrawn: it never rings late

    # the bus itself down: the same, nothing marked
    real_redis = settings.REDIS_URL
    get_redis.cache_clear()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    try:
        assert dispatch_due(now + timedelta(seconds=RETRY_SECONDS)) == 0
    finally:
        settings.REDIS_URL = real_redis
        get_redis.cache_clear()
    row = reload(first)
    assert (row.status, row.attempts) == (Status.PENDING, 0)
    assert "bus is unavailable" in row.last_error

    icm = responder()
    assert dispatch_due(now + timedelta(seconds=2 * RETRY_SECONDS)) == 2
    assert sorted(icm.ids()) == sorted([str(first.pk), str(second.pk)])
    assert {r.status for r in ScheduledCallback.objects.all()} == {Status.RINGING}


def test_a_lost_reply_does_not_call_the_customer_twice(center, responder, settings):
    """icm took the call-back but its reply came too late (past the time-out and the grace):
    the sender says the outcome is unknown — not "unavailable", not a refusal: no attempt
    counted — and its retry, under the same key, gets the first ring's reply from the bus:
    icm rang once (issue 21)."""
    settings.ICM_COMMAND_REPLY_TIMEOUT = 0.5
    settings.ICM_COMMAND_GRACE = 0.2
    taken: set[str] = set()

    def answer(args: dict[str, str]) -> dict[str, str]:
        if args["callback"] in taken:
            return {"status": "duplicate"}
        taken.add(args["callback"])
        time.sleep(1)  # longer than the sender waits
        return {"status": "ringing_agent", "contact": "c-late"}

    icm = responder(answer)
    row = make(center)
    now = timezone.now()
    assert dispatch_due(now) == 0
    row = reload(row)
    assert (row.status, row.attempts) == (Status.PENDING, 0)
    assert "outcome unknown" in row.last_error
    time.sleep(0.7)
    assert dispatch_due(now + timedelta(seconds=RETRY_SECONDS)) == 1
    row = reload(row)
    assert (row.status, row.attempts, row.contact) == (Status.RINGING, 1, "c-late")
    assert len(icm.received) == 1 and taken == {str(row.pk)}


def test_cancelled_call_backs_are_not_dialled(center, responder):
    icm = responder()
    row = make(center)
    assert cancel(row.pk).status == Status.CANCELLED
    assert dispatch_due() == 0 and icm.ids() == []
    with pytest.raises(CallbackConflict, match="only a pending one"):
        cancel(row.pk)
    leased = make(center, number="5550009")
    claim_next(timezone.now(), "busy-worker")
    with pytest.raises(CallbackConflict, match="being dialled"):
        cancel(leased.pk)


def test_the_admin_cancels_pending_call_backs(center, client):
    pending, ringing = make(center), make(center, number="5550007", status=Status.RINGING)
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    r = client.post(
        "/admin/agents/scheduledcallback/",
        {"action": "cancel_callbacks", "_selected_action": [pending.pk, ringing.pk]},
    )
    assert r.status_code == 302
    assert (reload(pending).status, reload(ringing).status) == (Status.CANCELLED, Status.RINGING)


# --- REST ------------------------------------------------------------------------------------


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_an_agent_books_lists_and_cancels_its_own_call_backs(center):
    client = client_for(center.ag1.user)
    due = soon(20).isoformat()
    r = client.post(
        "/api/agents/ag1/callbacks/",
        {"number": "+44 20 123 456", "due_at": due, "note": "invoice", "queue": center.queue.name},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["number"], body["agent"], body["booked_by"], body["source"]) == (
        "+4420123456",
        "ag1",
        "ag1",
        "agent",
    )
    assert body["customer"]["name"] == "Ann Lee" and body["queue"] == center.queue.name
    r = client.get("/api/agents/ag1/callbacks/")
    assert [c["id"] for c in r.json()["callbacks"]] == [body["id"]]
    assert client.get(f"/api/callbacks/{body['id']}/").json()["note"] == "invoice"
    r = client.delete(f"/api/callbacks/{body['id']}/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.delete(f"/api/callbacks/{body['id']}/").status_code == 409
    assert client.get("/api/agents/ag1/callbacks/").json()["callbacks"] == []


def test_only_the_agent_or_a_supervisor_manages_its_call_backs(center):
    body = {"number": "5551234", "due_at": soon(20).isoformat()}
    other = client_for(center.ag2.user)
    assert other.post("/api/agents/ag1/callbacks/", body, format="json").status_code == 403
    assert other.get("/api/agents/ag1/callbacks/").status_code == 403
    assert client_for(None).get("/api/agents/ag1/callbacks/").status_code in (401, 403)
    assert client_for(None).post("/api/agents/ag1/callbacks/", body, format="json").status_code in (
        401,
        403,
    )
    leader = User.objects.create_user("leader", password="pw")
    leader.user_permissions.add(Permission.objects.get(codename="change_agent"))
    r = client_for(leader).post("/api/agents/ag1/callbacks/", body, format="json")
    assert r.status_code == 201, r.content
    assert (r.json()["source"], r.json()["booked_by"]) == ("api", "")
    callback_id = r.json()["id"]
    assert other.delete(f"/api/callbacks/{callback_id}/").status_code == 403
    assert client_for(None).delete(f"/api/callbacks/{callback_id}/").status_code in (401, 403)
    assert client_for(center.ag1.user).get(f"/api/callbacks/{callback_id}/").status_code == 200
    assert client_for(leader).delete(f"/api/callbacks/{callback_id}/").status_code == 200
    assert client_for(leader).delete("/api/callbacks/999999/").status_code == 404
    r = client_for(leader).post("/api/agents/nobody/callbacks/", body, format="json")
    assert r.status_code == 404
    assert ScheduledCallback.objects.get(pk=callback_id).status == Status.CANCELLED


def test_malformed_or_refused_bookings_get_a_clear_answer(center):
    client = client_for(center.ag1.user)
    url, due = "/api/agents/ag1/callbacks/", soon(20).isoformat()
    bad = [
        (["5551234"], "must be a JSON object"),
        ({"due_at": due}, "number as a string"),
        ({"number": "5551234"}, "due_at, an ISO 8601 string"),
        ({"number": "5551234", "due_at": "tomorrow at 3"}, "is not an ISO 8601"),
        ({"number": "5551234", "due_at": "2026-13-45T10:00:00Z"}, "is not an ISO 8601"),
        ({"number": "5551234", "due_at": "2030-01-01T10:00:00"}, "time zone"),
        ({"number": "5551234", "due_at": "2020-01-01T10:00:00Z"}, "in the future"),
        ({"number": "55-ABC", "due_at": due}, "not a phone number"),
        ({"number": "5551234", "due_at": due, "note": 7}, "note must be a string"),
        ({"number": "5551234", "due_at": due, "account": "nope"}, "no customer"),
        ({"number": "5551234", "due_at": due, "queue": "nowhere"}, "no enabled queue"),
    ]
    for data, message in bad:
        r = client.post(url, data, format="json")
        assert r.status_code == 400, (data, r.content)
        assert message in r.json()["detail"], (data, r.json())
    r = client.post(url, "{not json", content_type="application/json")
    assert r.status_code == 400 and "JSON parse error" in r.json()["detail"]
    r = client.post(url, {"number": "1900 555 1234", "due_at": due}, format="json")
    assert r.status_code == 403
    assert r.json()["detail"] == "Premium-rate numbers need a senior agent."
    assert client.post(url, {"number": "5551234", "due_at": due}, format="json").status_code == 201
    r = client.post(url, {"number": "5551234", "due_at": due}, format="json")
    assert r.status_code == 409 and "already booked" in r.json()["detail"]


# --- Celery ----------------------------------------------------------------------------------


def test_celery_beat_and_worker_hand_a_due_call_back_to_icm(center, responder, celery_process):
    icm = responder()
    row = book(
        agent=center.ag1,
        number="+4420123456",
        due_at=timezone.now() + timedelta(seconds=2),
        booked_by=center.ag1,
    )
    wait_until(lambda: icm.ids(), timeout=30, what="icm to get callback_ring from Celery")
    assert icm.received[0]["agent"] == "ag1" and icm.received[0]["customer"] == "Ann Lee"
    row = wait_until(
        lambda: (r := reload(row)).status == Status.RINGING and r,
        timeout=10,
        what="the row to be ringing",
    )
    assert row.contact == f"c-{row.pk}" and row.dispatched_at >= row.due_at
    time.sleep(6)  # more beat ticks, two worker processes: still sent once
    assert icm.ids() == [str(row.pk)]
    assert "agents.dispatch_due_callbacks" in celery_process.log()
    assert celery_process.alive()


def test_the_beat_schedule_runs_the_registered_dispatcher_every_few_seconds():
    from ipbx_project.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-due-callbacks"]
    assert entry["task"] == "agents.dispatch_due_callbacks" and entry["schedule"] <= 10
    app.loader.import_default_modules()
    assert "agents.dispatch_due_callbacks" in app.tasks


def test_a_call_back_whose_outcome_was_lost_is_asked_again(center, responder):
    """icm took it for the agent but never reported back (it restarted): ten minutes on,
    the row is due again and icm is asked once more."""
    icm = responder()
    row = make(center)
    now = timezone.now()
    assert dispatch_due(now) == 1
    assert reload(row).status == Status.RINGING
    assert dispatch_due(now + timedelta(minutes=5)) == 0  # still within its time
    assert dispatch_due(now + timedelta(minutes=11)) == 1
    assert icm.ids() == [str(row.pk), str(row.pk)]
    assert reload(row).status == Status.RINGING
