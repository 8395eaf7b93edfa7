"""icm's side of the bus: publish sequenced call events and keep the live snapshot in Redis.

Sequence number, snapshot hash and PUBLISH change together in one Lua script, so a reader
that takes (seq, snapshot) atomically and then applies events with a higher seq is exact.
If Redis goes away, events are dropped with a log line and, once it is back, the snapshot is
rewritten from icm's memory and a `reset` event tells pages to re-snapshot.

A Redis that restarted empty (or from an old save) is noticed even when no command failed
(redis-py retries silently): every script checks the epoch token that the last reset wrote,
and refuses with NOEPOCH when it is gone or different, which triggers a reset.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable

import redis

from icm.domain.calls import CallRecord

from . import keys
from .events import EventData, EventType
from .schema import call_json

log = logging.getLogger(__name__)

# Every sequenced script passes the epoch key last and the epoch token as its last argument.
_CHECK_EPOCH = """
if redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then
  return redis.error_reply('NOEPOCH')
end
"""

_PUBLISH_CALLS = (
    _CHECK_EPOCH
    + """
local out = 0
for i = 2, #ARGV - 1, 3 do
  local seq = redis.call('INCR', KEYS[1])
  if ARGV[i] == '@CALL_ENDED@' then
    redis.call('HDEL', KEYS[2], ARGV[i + 1])
  else
    redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2])
  end
  redis.call('PUBLISH', KEYS[3], '{"switch":' .. cjson.encode(ARGV[1]) .. ',"seq":' .. seq ..
    ',"type":"' .. ARGV[i] .. '","call":' .. ARGV[i + 2] .. ',"status":null}')
  out = seq
end
return out
"""
).replace("@CALL_ENDED@", EventType.CALL_ENDED)

# ARGV: switch, connected, the other state (JSON: agents {id: state JSON}, queues, alarms,
# gateways as JSON text or null), then call uuid / call JSON pairs, then the epoch token.
_RESET = """
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[6], ARGV[#ARGV])
for i = 4, #ARGV - 1, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
local other = cjson.decode(ARGV[3])
redis.call('DEL', KEYS[7])
for id, state in pairs(other.agents) do
  redis.call('HSET', KEYS[7], id, state)
end
for n, name in ipairs({'queues', 'alarms', 'gateways'}) do
  if other[name] ~= cjson.null then
    redis.call('SET', KEYS[7 + n], other[name])
  end
end
redis.call('HSET', KEYS[4], 'connected', ARGV[2])
redis.call('SADD', KEYS[5], ARGV[1])
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[3], '{"switch":' .. cjson.encode(ARGV[1]) .. ',"seq":' .. seq ..
  ',"type":"@RESET@","call":null,"status":null}')
return seq
""".replace("@RESET@", EventType.RESET)

_STATUS = (
    _CHECK_EPOCH
    + """
redis.call('HSET', KEYS[2], 'connected', ARGV[2], 'since', ARGV[3], 'detail', ARGV[4])
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[3], '{"switch":' .. cjson.encode(ARGV[1]) .. ',"seq":' .. seq ..
  ',"type":"@SWITCH_STATUS@","call":null,"status":' .. ARGV[5] .. '}')
return seq
"""
).replace("@SWITCH_STATUS@", EventType.SWITCH_STATUS)


_ENTITY = (
    _CHECK_EPOCH
    + """
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('PUBLISH', KEYS[3], '{"switch":' .. cjson.encode(ARGV[1]) .. ',"seq":' .. seq ..
  ',"type":"' .. ARGV[2] .. '","call":null,"status":null,"agent":' .. ARGV[4] .. '}')
return seq
"""
)


_EVENT = (
    _CHECK_EPOCH
    + """
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], '{"switch":' .. cjson.encode(ARGV[1]) .. ',"seq":' .. seq ..
  ',"type":"' .. ARGV[2] .. '","call":null,"status":null,"data":' .. ARGV[3] .. '}')
return seq
"""
)


# A sequenced event whose whole state is one key (the queue figures, the active alarms):
# the key and the event change together, so a snapshot taken at seq S holds exactly the
# events up to S.
_KEYED_EVENT = (
    _CHECK_EPOCH
    + """
redis.call('SET', KEYS[2], ARGV[3])
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[3], '{"switch":' .. cjson.encode(ARGV[1]) .. ',"seq":' .. seq ..
  ',"type":"' .. ARGV[2] .. '","call":null,"status":null,"data":' .. ARGV[4] .. '}')
return seq
"""
)


class StatePublisher:
    """Publishes call changes of one icm; tolerant of Redis outages."""

    def __init__(
        self,
        client: redis.Redis,
        live_calls: Callable[[str], list[CallRecord]],
        live_state: Callable[[str], dict[str, object]] | None = None,
    ) -> None:
        self.redis = client
        self.events_channel = keys.events_channel(client)
        self.live_calls = live_calls
        # the rest of the snapshot, rewritten with the calls on a reset: {"agents": {id:
        # state JSON}, "queues" / "alarms" / "gateways": JSON text or None}
        self.live_state = live_state or (lambda switch: {})
        self._publish_calls = client.register_script(_PUBLISH_CALLS)
        self._reset = client.register_script(_RESET)
        self._status_script = client.register_script(_STATUS)
        self._entity_script = client.register_script(_ENTITY)
        self._event_script = client.register_script(_EVENT)
        self._keyed_script = client.register_script(_KEYED_EVENT)
        self._needs_reset: set[str] = set()
        self._connected: dict[str, bool] = {}
        self._status: dict[str, list[str]] = {}
        self._epoch = uuid.uuid4().hex

    def reset(self, switch: str) -> None:
        """Rewrite the switch's snapshot from icm's memory and tell pages to re-snapshot."""
        other = {"agents": {}, "queues": None, "alarms": None, "gateways": None}
        other.update(self.live_state(switch))
        args: list[str] = [switch, "1" if self._connected.get(switch) else "0", json.dumps(other)]
        for call in self.live_calls(switch):
            args += [call.call_uuid, json.dumps(call_json(call))]
        args.append(self._epoch)
        try:
            self._reset(
                keys=[
                    keys.seq_key(switch),
                    keys.calls_key(switch),
                    self.events_channel,
                    keys.status_key(switch),
                    keys.switches_key(),
                    keys.epoch_key(switch),
                    keys.agents_key(switch),
                    keys.queues_key(switch),
                    keys.alarms_key(switch),
                    keys.gateways_key(switch),
                ],
                args=args,
            )
            self._needs_reset.discard(switch)
            if switch in self._status:
                self._publish_status(switch, self._status[switch])
        except redis.RedisError as exc:
            self._needs_reset.add(switch)
            log.warning("bus: snapshot reset for %s failed: %s", switch, exc)

    def publish_calls(self, records: Iterable[CallRecord]) -> None:
        by_switch: dict[str, list[str]] = {}
        for rec in records:
            args = by_switch.setdefault(rec.switch, [rec.switch])
            args += [
                str(EventType.CALL_ENDED if rec.ended else EventType.CALL_UPDATED),
                rec.call_uuid,
                json.dumps(call_json(rec)),
            ]
        for switch, args in by_switch.items():
            if switch in self._needs_reset:
                self.reset(switch)  # the snapshot it writes already holds these changes
                continue
            key_list = [keys.seq_key(switch), keys.calls_key(switch), self.events_channel]
            self._run(switch, self._publish_calls, key_list, args, "call publish")

    def publish_status(self, switch: str, connected: bool, since: str, detail: str) -> None:
        self._connected[switch] = connected
        status = {"connected": connected, "since": since, "detail": detail}
        args = [switch, "1" if connected else "0", since, detail, json.dumps(status)]
        self._status[switch] = args
        if switch in self._needs_reset:
            self.reset(switch)
            return
        self._publish_status(switch, args)

    def _publish_status(self, switch: str, args: list[str]) -> None:
        key_list = [keys.seq_key(switch), keys.status_key(switch), self.events_channel]
        self._run(switch, self._status_script, key_list, args, "status")

    def publish_agent(self, switch: str, agent_id: str, state: dict[str, object]) -> None:
        """An agent's new state, kept in `ipbx:<switch>:agents` and sent as `agent.state`."""
        if switch in self._needs_reset:
            self.reset(switch)
        key_list = [keys.seq_key(switch), keys.agents_key(switch), self.events_channel]
        args = [switch, str(EventType.AGENT_STATE), agent_id, json.dumps(state)]
        self._run(switch, self._entity_script, key_list, args, "agent state")

    def publish_event(self, switch: str, data: EventData) -> None:
        """A sequenced event with no snapshot state (e.g. `ContactOffered`: the screen pop)."""
        if switch in self._needs_reset:
            self.reset(switch)
        args = [switch, str(data.event_type), json.dumps(data.as_json())]
        self._run(
            switch,
            self._event_script,
            [keys.seq_key(switch), self.events_channel],
            args,
            data.event_type,
        )

    def publish_keyed(self, switch: str, key: str, state: object, data: EventData) -> None:
        """Replace `key` with `state` (JSON) and publish the sequenced event `data`,
        atomically."""
        if switch in self._needs_reset:
            self.reset(switch)
        key_list = [keys.seq_key(switch), key, self.events_channel]
        args = [switch, str(data.event_type), json.dumps(state), json.dumps(data.as_json())]
        self._run(switch, self._keyed_script, key_list, args, data.event_type)

    def _run(self, switch: str, script, key_list: list[str], args: list[str], what: str) -> bool:
        """Run a sequenced script, epoch key and token appended. A lost snapshot is
        rewritten, a Redis outage marks the switch for a reset. True when the script ran."""
        try:
            script(keys=[*key_list, keys.epoch_key(switch)], args=[*args, self._epoch])
            return True
        except redis.ResponseError as exc:
            if "NOEPOCH" not in str(exc):
                log.error("bus: %s script refused by Redis: %s", what, exc)
                return False
            log.warning("bus: Redis lost %s's snapshot (restarted?); rewriting it", switch)
            self.reset(switch)
        except redis.RedisError as exc:
            self._needs_reset.add(switch)
            log.warning("bus: %s for %s failed (%s); will re-snapshot", what, switch, exc)
        return False
