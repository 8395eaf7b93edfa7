"""Read the live snapshot (sequence number + calls + switch status) atomically from Redis."""

from __future__ import annotations

import json
from typing import TypedDict

import redis

from . import keys
from .schema import CallJSON


class SwitchSnapshot(TypedDict):
    switch: str
    seq: int
    connected: bool
    status: dict[str, str]
    calls: list[CallJSON]


def read_snapshot(client: redis.Redis, switch: str) -> SwitchSnapshot:
    """The switch's state at one sequence number; apply events with a greater seq after it."""
    pipe = client.pipeline(transaction=True)
    pipe.get(keys.seq_key(switch))
    pipe.hgetall(keys.calls_key(switch))
    pipe.hgetall(keys.status_key(switch))
    seq, calls, status = pipe.execute()
    status = {_s(k): _s(v) for k, v in (status or {}).items()}
    parsed = [json.loads(v) for v in (calls or {}).values()]
    parsed.sort(key=lambda call: call["created_at"])
    return {
        "switch": switch,
        "seq": int(seq or 0),
        "connected": status.get("connected") == "1",
        "status": status,
        "calls": parsed,
    }


def known_switches(client: redis.Redis) -> list[str]:
    return sorted(_s(name) for name in client.smembers(keys.switches_key()))


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
