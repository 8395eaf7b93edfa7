"""Redis key and channel names of the bus (one place, so every side agrees)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis
    import redis.asyncio as aioredis

_EVENTS_CHANNEL = "ipbx:events"


def events_channel(client: redis.Redis | aioredis.Redis) -> str:
    """The channel of the bus's events for the Redis database `client` uses: `ipbx:events`
    on database 0, `ipbx:events:<n>` on database n. Redis pub/sub ignores the database
    number, so platforms sharing one Redis server on different databases (the benchmarks
    beside `make run`, a test run's workers, two installations) would otherwise hear one
    another: a flood that overflows a reader's buffer, or another site's bulletins."""
    db = int(client.connection_pool.connection_kwargs.get("db") or 0)
    return _EVENTS_CHANNEL if db == 0 else f"{_EVENTS_CHANNEL}:{db}"


def seq_key(switch: str) -> str:
    """Per-switch sequence number of published state events."""
    return f"ipbx:{switch}:seq"


def calls_key(switch: str) -> str:
    """Hash call_uuid → call JSON: the live snapshot of one switch."""
    return f"ipbx:{switch}:calls"


def agents_key(switch: str) -> str:
    """Hash agent id → agent state JSON (the ACD's live view)."""
    return f"ipbx:{switch}:agents"


def queues_key(switch: str) -> str:
    """JSON of every queue's live figures (waiting, longest wait, agents), refreshed by icm."""
    return f"ipbx:{switch}:queues"


def alarms_key(switch: str) -> str:
    """JSON list of the alarms active now (the wallboard's alarm bar)."""
    return f"ipbx:{switch}:alarms"


def gateways_key(switch: str) -> str:
    """JSON of the switch's gateways: name → {state, ping, healthy, since}."""
    return f"ipbx:{switch}:gateways"


def status_key(switch: str) -> str:
    """Hash with the switch connection status (connected, since, detail)."""
    return f"ipbx:{switch}:status"


def epoch_key(switch: str) -> str:
    """Token written by icm's last snapshot reset; missing means Redis lost the snapshot."""
    return f"ipbx:{switch}:epoch"


def switches_key() -> str:
    """Set of switch names that an icm has published for."""
    return "ipbx:switches"


def commands_key(switch: str) -> str:
    """List of pending commands for the icm driving `switch`."""
    return f"ipbx:{switch}:commands"


def reply_key(command_id: str) -> str:
    """List where icm pushes the reply to one command."""
    return f"ipbx:reply:{command_id}"


def taken_key(switch: str) -> str:
    """List of the commands the icm of `switch` has taken and not answered yet (a reliable
    queue: an icm that dies leaves them there for the next one to recover)."""
    return f"ipbx:{switch}:commands:taken"


def command_key_record(switch: str, name: str, key: str) -> str:
    """The record of one idempotency key icm took for command `name`: running, then done
    with its reply (kept IDEMPOTENCY_TTL)."""
    return f"ipbx:{switch}:cmdkey:{name}:{key}"
