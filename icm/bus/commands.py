"""Commands from web / Celery to icm over Redis, with a reply (request/response).

The sender pushes `{"id", "name", "args"}` on the switch's command list and waits on a
reply list; icm pops, validates, acts on the switch, and pushes `{"ok", "result"|"error"}`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

from . import command_schema, keys

log = logging.getLogger(__name__)

REPLY_TTL_SECONDS = 60


class CommandError(Exception):
    """icm refused or failed the command; the message is fit to show a user."""


class IcmUnavailable(CommandError):
    """No icm answered in time (not running, or the switch is busy)."""


def send_command(
    client: redis.Redis, switch: str, name: str, args: dict[str, Any], timeout: float = 10
) -> dict[str, Any]:
    """Ask the icm of `switch` to run a command; return its result or raise CommandError."""
    command_id = uuid.uuid4().hex
    # icm drops a command it pops after `expires`: the sender has stopped waiting by then.
    expires = time.time() + timeout
    payload = json.dumps({"id": command_id, "name": name, "args": args, "expires": expires})
    client.lpush(keys.commands_key(switch), payload)
    popped = client.brpop([keys.reply_key(command_id)], timeout=timeout)
    if popped is None:
        # Withdraw the command if icm never took it, so it does not run late.
        client.lrem(keys.commands_key(switch), 1, payload)
        raise IcmUnavailable(f"icm for switch {switch} did not answer within {timeout:.0f}s")
    reply = json.loads(popped[1])
    if not reply.get("ok"):
        raise CommandError(reply.get("error", "command failed"))
    return reply.get("result") or {}


def post_command(
    client: redis.Redis, switch: str, name: str, args: dict[str, Any], ttl: float = 300
) -> None:
    """Queue a command for icm without waiting for its reply (idempotent notifications such
    as "reload this queue"); icm drops it if it has not run within `ttl` seconds."""
    payload = {"id": uuid.uuid4().hex, "name": name, "args": args, "expires": time.time() + ttl}
    client.lpush(keys.commands_key(switch), json.dumps(payload))


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class CommandServer:
    """icm's loop: pop commands for one switch and run each with the registered handler.

    `spawn` runs a handler concurrently (a gevent pool's spawn in icm), so one slow command
    does not hold up the others; by default handlers run inline.
    """

    def __init__(
        self,
        client: redis.Redis,
        switch: str,
        handlers: dict[str, Handler],
        spawn: Callable[..., object] | None = None,
    ) -> None:
        self.redis = client
        self.switch = switch
        self.handlers = handlers
        self.spawn = spawn
        self._running = True

    def stop(self) -> None:
        self._running = False

    def serve_forever(self, pop_timeout: int = 1) -> None:
        while self._running:
            try:
                popped = self.redis.brpop([keys.commands_key(self.switch)], timeout=pop_timeout)
            except redis.RedisError as exc:
                log.warning("commands: redis unavailable (%s); retrying", exc)
                time.sleep(1)
                continue
            if popped is None:
                continue
            if self.spawn is None:
                self.handle(popped[1])
            else:
                self.spawn(self.handle, popped[1])

    def handle(self, raw: bytes | str) -> None:
        try:
            command = json.loads(raw)
            command_id = str(command["id"])
            name = str(command["name"])
            args = command.get("args") or {}  # checked by command_schema below
            expires = float(command.get("expires") or 0)
        except (ValueError, KeyError, TypeError):
            log.warning("commands: malformed command dropped: %r", raw[:200])
            return
        if expires and time.time() > expires:
            log.warning("command %s %s dropped: its sender stopped waiting", command_id, name)
            return
        try:  # the trust boundary: every argument checked before anything runs (issue 18)
            args = command_schema.validate(name, args)
        except command_schema.CommandRefused as exc:
            log.warning(
                "command %s %r refused: %s",
                command_id,
                exc.command,
                "; ".join(exc.problems),
                extra={"command_id": command_id, "command": name, "refused": exc.problems},
            )
            reply: dict[str, Any] = {"ok": False, "error": str(exc)}
        else:
            reply = self._run(name, args)
        log.info("command %s %s -> %s", command_id, name, "ok" if reply["ok"] else reply["error"])
        try:
            pipe = self.redis.pipeline()
            pipe.lpush(keys.reply_key(command_id), json.dumps(reply))
            pipe.expire(keys.reply_key(command_id), REPLY_TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("commands: reply to %s lost: %s", command_id, exc)

    def _run(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """The reply of the command's handler, its arguments checked."""
        handler = self.handlers.get(name)
        if handler is None:
            return {"ok": False, "error": f"unknown command {name!r}"}
        try:
            return {"ok": True, "result": handler(args)}
        except CommandError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.exception("commands: %s failed", name)
            return {"ok": False, "error": f"{name} failed: {exc}"}
