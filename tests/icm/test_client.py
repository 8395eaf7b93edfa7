"""The web → icm client (icm.client): every command it sends is one icm's bus accepts, and a
bus that is down reads as an icm that is unavailable."""

import pytest
import redis

from icm import client
from icm.bus import command_schema
from icm.bus.commands import IcmUnavailable
from tests.fixtures.esl_client import free_port

UUID = "0f8b1c2a-3d4e-4f50-8a6b-7c8d9e0f1a2b"


@pytest.fixture
def sent(monkeypatch):
    """The commands the client puts on the bus, checked as icm checks them; icm answers {}."""
    commands: list[tuple[str, str, dict]] = []

    def send_command(bus, switch, name, args, timeout=10, key=None, grace=5):
        commands.append((switch, name, command_schema.validate(name, args)))
        return {"value": 3} if name == "queue_metric" else {}

    def post_command(bus, switch, name, args, ttl=300):
        commands.append((switch, name, command_schema.validate(name, args)))

    monkeypatch.setattr(client, "send_command", send_command)
    monkeypatch.setattr(client, "post_command", post_command)
    return commands


def test_every_typed_command_is_one_icm_accepts(sent):
    client.agent_state("sw", "a1001", "login_not_ready", "")
    client.agent_state("sw", "a1001", "extend_wrap_up", "")
    client.agent_call("sw", "a1001", "dial", number="0123456789", gateway="trunk")
    client.agent_call("sw", "a1001", "transfer", kind="extension", target="2001", note="vip")
    client.agent_pick("sw", "a1001", UUID)
    client.agent_pick("sw", "a1001", UUID, "support")
    client.callback_ring("sw", {"callback": "17", "queue": "support", "number": "0123456789"})
    client.monitor("sw", "a1001", "2001", "whisper")
    client.live_listen("sw", "a1001", "tap-0123456789")
    client.live_listen_stop("sw", "tap-0123456789")
    client.hangup("sw", UUID, "NORMAL_CLEARING")
    client.originate("sw", {"endpoint": "user/1001", "destination": "2001"})
    assert client.queue_metric("sw", "waiting", "support") == 3.0
    client.campaign_dial(
        "sw",
        {
            "key": "7:1",
            "campaign": "renewals",
            "number": "0123456789",
            "gateway": "trunk",
            "mode": "progressive",
        },
    )
    client.campaign_floor("sw", "renewals", "")
    client.campaign_stop("sw", "renewals")
    client.reload_queue("sw", "support")
    client.reload_agent("sw", "a1001")
    client.flush_directory("sw", "1001", "pbx.example.com")
    names = [name for _switch, name, _args in sent]
    assert names == [
        "agent_login",
        "extend_wrap_up",
        "agent_call",
        "agent_call",
        "agent_pick",
        "agent_pick",
        "callback_ring",
        "monitor",
        "live_listen",
        "live_listen_stop",
        "hangup",
        "originate",
        "queue_metric",
        "campaign_dial",
        "campaign_floor",
        "campaign_stop",
        "reload_queue",
        "reload_agent",
        "flush_directory",
    ]
    assert sent[0][2] == {"agent": "a1001", "reason": "", "ready": False}
    assert sent[4][2] == {"agent": "a1001", "contact": UUID}  # no queue: icm does not check one
    assert sent[5][2]["queue"] == "support"


def test_a_bus_that_is_down_is_an_unavailable_icm(monkeypatch):
    closed = redis.Redis(port=free_port(), socket_timeout=1, socket_connect_timeout=1)
    monkeypatch.setattr(client, "get_redis", lambda: closed)
    with pytest.raises(IcmUnavailable, match="the command bus is unavailable"):
        client.agent_pick("sw", "a1001", UUID)
    with pytest.raises(redis.RedisError):  # a notification: the caller logs it and moves on
        client.reload_queue("sw", "support")
