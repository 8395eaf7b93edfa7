"""Issue 18 item 10: the Redis command bus is the trust boundary between web / Celery and icm.

- production settings refuse a Redis reached without a password (unless over TLS): whoever
  writes to that Redis drives the switch;
- icm checks every command's arguments itself, at the bus's entry: an unknown command, a
  missing, unexpected, mistyped or malformed argument (a caller ID carrying a second ESL
  command) is refused with a clear error, and nothing of it runs — nothing reaches the switch.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from typing import Any

import pytest

from icm.bus.commands import CommandError, CommandServer, send_command
from icm.daemon.campaigns.dialer import CampaignDialer
from tests.icm.test_bus import private_redis  # noqa: F401 - the fixture
from tests.test_settings import _load_prod

HOSTILE_CALLER_ID = "1000\nbgapi system id"
CALL = str(uuid.uuid4())
TAP = secrets.token_urlsafe(18)


def _campaign_dial(**extra: Any) -> dict[str, Any]:
    """A `campaign_dial` as outbound.dialer._send builds it."""
    return {
        "key": "c1-7-1",
        "campaign": "renewals",
        "number": "5550100",
        "gateway": "carrier",
        "mode": "agentless",
        "queue": "",
        "caller_id": "+3225550199",
        "ring_seconds": 25,
        "amd": False,
        "amd_method": "auto",
        "amd_window": 6.0,
        "machine_action": "hangup",
        "message": "ivr/ivr-thank_you.wav",
        "calls_per_second": 5.0,
        "flow": "",
        "max_concurrent": 30,
        "attempt": 1,
        "preview_seconds": 0,
        "agent": "",
        "gateway_max_channels": 30,
        "gateway_calls_per_second": None,
        "data": {"name": "Ann", "plan": "gold"},
        **extra,
    }


@pytest.fixture
def serve(private_redis):  # noqa: F811
    """A CommandServer on a real Redis with the given handlers; yields a sender."""
    servers = []

    def start(handlers: dict[str, Any]):
        server = CommandServer(private_redis.client(), "sw", handlers)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        client = private_redis.client()
        return lambda name, args: send_command(client, "sw", name, args, timeout=5)

    yield start
    for server, thread in servers:
        server.stop()
        thread.join(3)


def test_a_hostile_caller_id_is_refused_by_icm_and_nothing_reaches_the_switch(
    serve,
    private_redis,  # noqa: F811
):
    """The campaign dialer's own handler behind the bus: a caller ID with a newline and a
    second command is refused at the entry — not claimed, not queued, never originated —
    while the same attempt with a real caller ID goes out."""
    switch: list[Any] = []  # every command the dialer hands to the switch
    dialer = CampaignDialer(
        "sw",
        private_redis.client(),
        switch.append,
        switch.append,
        acd=None,
        post=lambda item: None,
        record=lambda row: None,
    )
    send = serve({"campaign_dial": dialer.dial})

    with pytest.raises(CommandError, match="caller_id") as refused:
        send("campaign_dial", _campaign_dial(caller_id=HOSTILE_CALLER_ID))
    assert "bgapi" not in str(refused.value)  # the reply names the problem, not the payload
    with pytest.raises(CommandError, match="ring_seconds"):
        send("campaign_dial", _campaign_dial(ring_seconds="25\napi system id"))
    dialer.pace(time.monotonic() + 60)
    assert switch == [] and dialer.calls == {} and dialer.waiting == {}
    assert dialer.redis.keys("ipbx:attempt:*") == []  # not even claimed: may be sent again

    taken = send("campaign_dial", _campaign_dial(key="c1-7-2"))
    assert taken["queued"] is True
    assert dialer.pace(time.monotonic() + 60) == 1
    (originate,) = switch
    assert originate.caller_id_number == "+3225550199"


# (command, what a real sender sends, the same made hostile or mistyped)
CASES = [
    (
        "hangup",
        {"uuid": CALL, "cause": "NORMAL_CLEARING"},
        {"uuid": f"{CALL}\n\napi system id", "cause": "NORMAL_CLEARING"},
    ),
    ("hold", {"uuid": CALL, "hold": True}, {"uuid": CALL, "hold": "yes"}),
    (
        "originate",
        {
            "endpoint": "user/1001",
            "destination": "8000",
            "context": "default",
            "caller_id_number": "1000",
        },
        {
            "endpoint": "user/1001",
            "destination": "8000",
            "context": "default",
            "caller_id_number": HOSTILE_CALLER_ID,
        },
    ),
    (
        "queue_metric",
        {"metric": "queue_length", "queue": "support"},
        {"metric": "queue_length", "queue": "support XML default"},
    ),
    (
        "agent_login",
        {"agent": "ag1", "reason": "", "ready": True},
        {"agent": ["ag1"], "reason": "", "ready": "true"},
    ),
    (
        "agent_not_ready",
        {"agent": "ag1", "reason": "lunch"},
        {"agent": "ag1", "reason": "lunch\nbgapi system id"},
    ),
    (
        "extend_wrap_up",
        {"agent": "ag1", "reason": "", "seconds": 30},
        {"agent": "ag1", "reason": "", "seconds": "30"},
    ),
    ("agent_pick", {"agent": "ag1", "contact": CALL}, {"agent": "ag1", "contact": "x y"}),
    ("reload_queue", {"queue": "support"}, {}),
    ("reload_agent", {"agent": "ag1"}, {"agent": "ag1", "password": "x"}),
    (
        "agent_call",
        {
            "agent": "ag1",
            "action": "dial",
            "number": "5550100",
            "gateway": "carrier",
            "caller_id": "+3225550199",
        },
        {
            "agent": "ag1",
            "action": "dial",
            "number": "5550100",
            "gateway": "carrier",
            "caller_id": HOSTILE_CALLER_ID,
        },
    ),
    (
        "agent_call",
        {
            "agent": "ag1",
            "action": "transfer",
            "kind": "queue",
            "target": "billing",
            "note": "Invoice 42\nsecond line",
        },
        {"agent": "ag1", "action": "transfer", "kind": "number", "target": "billing", "note": ""},
    ),
    (
        "agent_call",
        {
            "agent": "ag1",
            "action": "consult",
            "kind": "number",
            "target": "+3225550100",
            "note": "",
            "gateway": "carrier",
            "caller_id": "+3225550199",
        },
        {
            "agent": "ag1",
            "action": "consult",
            "kind": "number",
            "target": "+3225550100",
            "note": "",
            "gateway": "carrier x",
            "caller_id": "",
        },
    ),
    (
        "agent_call",
        {"agent": "ag1", "action": "dtmf", "digits": "12#"},
        {"agent": "ag1", "action": "dtmf", "digits": "1 2"},
    ),
    (
        "agent_call",
        {"agent": "ag1", "action": "record_start", "format": "pcm", "why": "order"},
        {"agent": "ag1", "action": "record_start", "format": "pcm\n", "why": "order"},
    ),
    ("agent_call", {"agent": "ag1", "action": "hangup"}, {"agent": "ag1", "action": "explode"}),
    (
        "callback_ring",
        {
            "callback": "12",
            "agent": "ag1",
            "queue": "",
            "number": "+3225550100",
            "note": "call back about the invoice",
            "customer": "ACME",
        },
        {
            "callback": "12",
            "agent": "ag1",
            "queue": "",
            "number": "3225550100}",
            "note": "",
            "customer": "",
        },
    ),
    (
        "monitor",
        {"agent": "ag1", "extension": "1001", "mode": "listen"},
        {"agent": "ag1", "extension": "1001 XML default", "mode": "listen"},
    ),
    ("live_listen", {"agent": "ag1", "tap": TAP}, {"agent": "ag1", "tap": "x"}),
    ("live_listen_stop", {"tap": TAP}, {"tap": 5}),
    ("campaign_dial", _campaign_dial(), _campaign_dial(number="5550100&bridge(user/1001)")),
    (
        "campaign_floor",
        {"campaign": "renewals", "queue": "sales"},
        {"campaign": "renewals", "queue": None},
    ),
    ("campaign_stop", {"campaign": "renewals"}, {"campaign": "renewals\r\n"}),
    (
        "flush_directory",
        {"user": "1001", "domain": "acd.local"},
        {"user": "1001", "domain": "acd.local\n\nbgapi system id"},
    ),
]


@pytest.mark.parametrize(
    ("name", "good", "bad"), CASES, ids=[f"{c[0]}-{c[1].get('action', '')}" for c in CASES]
)
def test_icm_checks_every_commands_arguments_before_acting(serve, name, good, bad):
    """What each real sender sends is run; the same command mistyped or carrying something
    the switch must never see is refused with the argument named, and its handler never
    runs."""
    ran: list[dict[str, Any]] = []

    def handler(args: dict[str, Any]) -> dict[str, Any]:
        ran.append(args)
        return {"done": True}

    send = serve({name: handler})
    assert send(name, good) == {"done": True}
    with pytest.raises(CommandError, match=f"command '{name}' refused"):
        send(name, bad)
    assert ran == [good]


def test_an_unknown_command_or_arguments_that_are_no_object_are_refused(serve):
    ran: list[Any] = []
    send = serve({"system": ran.append, "reload_agent": ran.append})
    with pytest.raises(CommandError, match="unknown command 'system'"):
        send("system", {"command": "id"})  # a handler registered, but no schema: refused
    with pytest.raises(CommandError, match="args: an object"):
        send("reload_agent", ["ag1"])
    assert ran == []


UNPROTECTED = [
    {"REDIS_URL": "redis://127.0.0.1:6379/0"},
    {"REDIS_URL": "redis://ipbx@10.0.0.5:6379/0"},  # a user name but no password
    {"CELERY_BROKER_URL": "redis://10.0.0.5:6379/1"},
]
PROTECTED = [
    "redis://:s3cret@10.0.0.5:6379/0",
    "rediss://10.0.0.5:6380/0",
    "unix:///run/redis.sock?db=0&password=s3cret",
]


def test_production_settings_need_a_redis_password_or_tls():
    """Production refuses to start when the bus's Redis (or Celery's) has no password and
    no TLS; a password (in the URL's user info or `?password=`) or rediss:// is accepted."""
    for overrides in UNPROTECTED:
        result = _load_prod(overrides)
        assert result.returncode != 0, (overrides, result.stdout)
        assert "ImproperlyConfigured" in result.stderr
        assert next(iter(overrides)) in result.stderr and "password" in result.stderr
    for url in PROTECTED:
        result = _load_prod({"REDIS_URL": url})
        assert result.returncode == 0, (url, result.stderr)
