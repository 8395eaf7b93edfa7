"""The command bus under races and crashes, on the real Redis (issue 21, finding 3): a sender's
answer matches what happened to its command, a key runs once, an expired command never runs,
and a command taken by an icm that died is recovered by the next one."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
import redis
from django.conf import settings

from icm.bus import keys
from icm.bus.commands import (
    CommandOutcomeUnknown,
    CommandServer,
    IcmUnavailable,
    send_command,
)
from tests.icm.test_bus import private_redis  # noqa: F401 - the fixture

ORIGINATE = {"endpoint": "user/1001", "destination": "2001"}


@pytest.fixture
def bus() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture
def switch() -> str:
    return f"rb{uuid.uuid4().hex[:8]}"


class Icm:
    """A CommandServer in a thread, counting what its handlers ran."""

    def __init__(self, bus: redis.Redis, switch: str, slow_until: float = 0.0) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []
        self.slow_until = slow_until
        handlers = {"originate": self.originate, "queue_metric": self.metric}
        self.server = CommandServer(bus, switch, handlers)
        self.thread: threading.Thread | None = None

    def originate(self, args: dict[str, Any]) -> dict[str, Any]:
        while time.time() < self.slow_until:  # still running when its sender times out
            time.sleep(0.02)
        self.ran.append(("originate", args))
        return {"call_uuid": f"call-{len(self.ran)}"}

    def metric(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ran.append(("queue_metric", args))
        return {"value": 7}

    def __enter__(self) -> Icm:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        assert self.thread is not None
        self.thread.join(5)


def in_thread(fn, *args, **kwargs) -> tuple[threading.Thread, dict[str, Any]]:
    """Run a sender in a thread; its result or exception lands in the dict."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = fn(*args, **kwargs)
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def wait_for(predicate, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_withdrawn_before_icm_takes_it_is_unavailable_and_never_runs(bus, switch):
    """The time-out wins the race: the command is withdrawn, the sender hears "unavailable",
    and an icm that starts afterwards finds nothing to run."""
    with pytest.raises(IcmUnavailable, match="withdrawn and did not run"):
        send_command(bus, switch, "originate", ORIGINATE, timeout=0.3, grace=5)
    assert bus.llen(keys.commands_key(switch)) == 0
    icm = Icm(bus, switch)
    assert icm.server.take(0.2) is None
    assert icm.ran == []


def test_taken_before_the_time_out_the_sender_gets_the_real_result(bus, switch):
    """Regression (issue 21 finding 3): icm took the originate just before its sender's
    time-out and was still running it; the sender used to say "unavailable" (a user's
    retry placed a second call). Now it waits for the real reply."""
    with Icm(bus, switch, slow_until=time.time() + 1.0) as icm:
        result = send_command(bus, switch, "originate", ORIGINATE, timeout=0.4, grace=10)
    assert result == {"call_uuid": "call-1"}
    assert icm.ran == [("originate", ORIGINATE)]


def test_taken_and_never_answered_is_outcome_unknown_not_unavailable(bus, switch):
    """icm took the command and its reply does not come within the grace: the sender says
    the outcome is unknown (never "unavailable", which would invite a blind retry)."""
    icm = Icm(bus, switch)
    thread, out = in_thread(send_command, bus, switch, "originate", ORIGINATE, 0.3, grace=0.3)
    wait_for(lambda: icm.server.take(0.1) is not None, "icm taking the command")
    thread.join(5)
    assert isinstance(out["error"], CommandOutcomeUnknown)
    assert not isinstance(out["error"], IcmUnavailable)
    assert "outcome unknown" in str(out["error"])


def test_a_key_runs_once_whatever_the_retries(bus, switch):
    """A retry with the same key — after the first run, or while it still runs — is
    answered with the first run's reply; the originate runs once."""
    with Icm(bus, switch, slow_until=time.time() + 0.5) as icm:
        senders = [
            in_thread(send_command, bus, switch, "originate", ORIGINATE, 5, key="web-42")
            for _ in range(2)
        ]
        for thread, _ in senders:
            thread.join(10)
        again = send_command(bus, switch, "originate", ORIGINATE, timeout=5, key="web-42")
        other = send_command(bus, switch, "originate", ORIGINATE, timeout=5, key="web-43")
    assert [out["result"] for _, out in senders] == [{"call_uuid": "call-1"}] * 2
    assert again == {"call_uuid": "call-1"}
    assert other == {"call_uuid": "call-2"}  # another key is another call
    assert len(icm.ran) == 2


def test_an_expired_command_is_refused_and_its_key_stays_free(bus, switch):
    """A command icm takes after its sender's deadline is refused, never run, and answered
    "expired" (its sender, still listening, says it did not run); a later send with the same
    key runs."""
    payload = {
        "id": "late-1",
        "key": "web-7",
        "name": "originate",
        "args": ORIGINATE,
        "expires": time.time() - 1,
    }
    bus.lpush(keys.commands_key(switch), json.dumps(payload))
    icm = Icm(bus, switch)
    icm.server.handle(icm.server.take(1))
    assert icm.ran == []
    reply = json.loads(bus.rpop(keys.reply_key("late-1")))
    assert reply["expired"] and not reply["ok"]
    assert bus.llen(keys.taken_key(switch)) == 0
    with icm:
        assert send_command(bus, switch, "originate", ORIGINATE, key="web-7") == {
            "call_uuid": "call-1"
        }


def test_commands_taken_by_an_icm_that_died_are_recovered_at_the_next_start(bus, switch):
    """An icm takes two commands and dies before running them (kill -9 between take and
    reply). The next icm, on start, runs the read again (safe to run twice) and tells the
    originate's sender the outcome is unknown — never running it a second time blind."""
    dead = Icm(bus, switch)
    metric = in_thread(
        send_command,
        bus,
        switch,
        "queue_metric",
        {"metric": "waiting", "queue": "q1"},
        0.5,
        grace=20,
    )
    wait_for(lambda: dead.server.take(0.1) is not None, "the first command taken")
    call = in_thread(send_command, bus, switch, "originate", ORIGINATE, 0.5, grace=20)
    wait_for(lambda: dead.server.take(0.1) is not None, "the second command taken")
    assert bus.llen(keys.taken_key(switch)) == 2  # it 'dies' here: nothing ran
    with Icm(bus, switch) as restarted:
        for thread, _ in (metric, call):
            thread.join(10)
    assert metric[1]["result"] == {"value": 7}
    assert isinstance(call[1]["error"], CommandOutcomeUnknown)
    assert "icm restarted while running it" in str(call[1]["error"])
    assert [name for name, _ in restarted.ran] == ["queue_metric"]
    assert dead.ran == []
    assert bus.llen(keys.taken_key(switch)) == 0


@pytest.fixture
def controller(db):
    from django.contrib.auth.models import Permission, User
    from rest_framework.test import APIClient

    user = User.objects.create_user("ctl", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="view_call"), Permission.objects.get(codename="change_call")
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_originate_retried_with_its_idempotency_key_places_one_call(
    bus, switch, controller
):
    body = {**ORIGINATE, "switch": switch}
    with Icm(bus, switch) as icm:
        first = controller.post(
            "/api/calls/originate/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-77"
        )
        retry = controller.post(
            "/api/calls/originate/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-77"
        )
        bad = controller.post(
            "/api/calls/originate/", body, format="json", HTTP_IDEMPOTENCY_KEY="no spaces"
        )
    assert (first.status_code, retry.status_code) == (201, 201)
    assert first.json() == retry.json() == {"call_uuid": "call-1"}
    assert len(icm.ran) == 1  # one call placed
    assert bad.status_code == 400


def test_the_api_says_504_outcome_unknown_when_icm_took_the_originate_and_went_silent(
    bus, switch, controller, settings
):
    settings.ICM_COMMAND_REPLY_TIMEOUT, settings.ICM_COMMAND_GRACE = 0.3, 0.3
    dead = Icm(bus, switch)
    taker = threading.Thread(
        target=lambda: wait_for(lambda: dead.server.take(0.1) is not None, "taken"), daemon=True
    )
    taker.start()
    response = controller.post(
        "/api/calls/originate/", {**ORIGINATE, "switch": switch}, format="json"
    )
    taker.join(5)
    assert response.status_code == 504
    assert "outcome unknown" in response.json()["detail"]


def test_the_bus_failing_after_the_command_was_queued_is_outcome_unknown(private_redis):  # noqa: F811
    """Redis goes away while the sender waits: the command was queued and may have been
    taken, so the sender cannot say it never ran — outcome unknown, not "unavailable"."""
    client = private_redis.client()
    thread, out = in_thread(send_command, client, "sw", "originate", ORIGINATE, 5, grace=5)
    wait_for(lambda: private_redis.client().llen(keys.commands_key("sw")) == 1, "queued")
    private_redis.stop()
    thread.join(30)
    assert isinstance(out["error"], CommandOutcomeUnknown)
    assert "outcome unknown" in str(out["error"])
