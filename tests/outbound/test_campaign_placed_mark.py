"""A campaign attempt's key is marked "placed" in Redis before its originate leaves, so an icm
killed in any gap never has its attempt dialled again by the next icm (issue 21, finding 2):
icm's dialer on the real Redis, the switch faked at its boundary (the commands it is sent,
what `uuid_exists` answers)."""

from __future__ import annotations

import uuid
from typing import Any

import redis
from django.conf import settings

from icm.daemon.campaigns.dialer import CampaignDialer
from icm.daemon.freeswitch.render import command_to_api
from icm.domain import commands as cmd
from tests.fixtures.esl_client import free_port


class Switch:
    """What the dialer sends, and the legs `uuid_exists` finds."""

    def __init__(self, bus: redis.Redis, key: str) -> None:
        self.bus, self.key = bus, key
        self.sent: list[str] = []
        self.mark_when_sent: list[str] = []
        self.up: set[str] = set()

    def bgapi(self, command: cmd.SwitchCommand) -> str:
        self.sent.append(command_to_api(command))
        self.mark_when_sent.append((self.bus.get(f"ipbx:attempt:{self.key}") or b"").decode())
        return f"job-{len(self.sent)}"

    def api(self, command: cmd.SwitchCommand) -> str:
        assert isinstance(command, cmd.LegExists), command
        return "true" if command.uuid in self.up else "false"


def icm(switch: Switch, log: list[dict[str, Any]]) -> CampaignDialer:
    """One icm's dialer (a new one is an icm restarted)."""
    return CampaignDialer(
        "sw1", switch.bus, switch.bgapi, switch.api, None, lambda item: None, log.append
    )


def request(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "campaign": "survey",
        "number": "5550100",
        "gateway": "carrier",
        "mode": "agentless",
    }


def setup() -> tuple[Switch, list[dict[str, Any]], str]:
    key = f"k{uuid.uuid4().hex[:8]}"
    return Switch(redis.Redis.from_url(settings.REDIS_URL), key), [], key


def test_the_mark_is_placed_before_the_originate_leaves_and_the_next_icm_never_redials():
    switch, log, key = setup()
    first = icm(switch, log)
    leg = first.dial(request(key))["leg"]
    assert first.pace(0.0) == 1
    assert switch.mark_when_sent == [f"placed:sw1:{leg}"]  # durable before it left
    # killed right here; the pacer re-sends the attempt to the next icm: maybe dialled
    switch.up.add(leg)
    restarted = icm(switch, log)
    reply = restarted.dial(request(key))
    assert reply == {"key": key, "duplicate": True, "maybe_dialled": True, "leg": leg, "live": True}
    switch.up.clear()
    assert restarted.dial(request(key))["live"] is False  # gone: the pacer closes it
    assert restarted.pace(0.0) == 0 and len(switch.sent) == 1  # never dialled again


def test_an_attempt_queued_by_an_icm_that_died_is_dialled_by_the_next_one_once():
    """Claimed "queued" and lost with the process before its originate: nothing rang, so
    the next icm takes the key over and dials it — once, however often it is re-sent."""
    switch, log, key = setup()
    icm(switch, log).dial(request(key))  # killed before its pacer placed it
    restarted = icm(switch, log)
    leg = restarted.dial(request(key))["leg"]
    assert restarted.pace(0.0) == 1
    assert restarted.dial(request(key)) == {"key": key, "duplicate": True, "leg": leg, "live": True}
    assert restarted.pace(0.0) == 0 and len(switch.sent) == 1


def test_no_mark_no_originate():
    """Redis cannot be reached when the call is due: nothing is dialled (the attempt fails
    with its cause, retried by the campaign's rules); a key that is no longer this call's
    (another icm's) is not dialled either, and its attempt is left to that one."""
    switch, log, key = setup()
    dialer = icm(switch, log)
    dialer.dial(request(key))
    dialer.redis = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    assert dialer.pace(0.0) == 1  # its turn came…
    assert switch.sent == []  # …and nothing left
    assert [(u["result"], u["hangup_cause"]) for u in log if "result" in u] == [
        ("failed", "ATTEMPT_NOT_MARKED")
    ]
    other, log2, key2 = setup()
    dialer = icm(other, log2)
    dialer.dial(request(key2))
    other.bus.set(f"ipbx:attempt:{key2}", "placed:sw1:another-leg")
    dialer.pace(0.0)
    assert other.sent == [] and log2 == [] and dialer.calls == {}
