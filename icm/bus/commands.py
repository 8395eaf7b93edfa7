"""Commands from web / Celery to icm over Redis, with a reply (request/response), delivered
reliably and run at most once per idempotency key (issue 21, finding 3).

The sender pushes `{"id", "key", "name", "args", "expires"}` on the switch's command list and
waits on the command's reply list. icm takes a command by moving it atomically (`BLMOVE`) to
the switch's *taken* list, claims its idempotency key (`SET NX`, IDEMPOTENCY_TTL), validates
and runs it, then — in one MULTI — stores the reply under the key, pushes it to the sender and
drops the command from the taken list. So a command is always in exactly one place: waiting,
taken, or answered.

- **Idempotency**: the key is the command id unless the sender gives one (an originate, a
  campaign attempt, a call-back ring: a retry with the same key is the same request). A key
  icm already took is never run again: the duplicate waits for the first run's stored reply.
- **Expiry**: a command taken after its `expires` (its sender has stopped waiting) is refused
  and never run; its sender, if still listening, hears "expired" (it did not run).
- **The sender's answer matches what happened**: on its time-out it withdraws the command
  (`LREM`, atomic against icm's `BLMOVE`). Withdrawn → `IcmUnavailable` (it never ran). Not
  there any more → icm took it: the sender waits a bounded grace for the real reply and, if
  none comes, raises `CommandOutcomeUnknown` (it may have run: do not retry it blindly).
- **A command taken by an icm that died** stays in the taken list. The next icm, before it
  takes anything, runs again the ones that are unexpired and safe to run twice
  (`command_schema.RERUNNABLE`: reads, notifications, and commands idempotent by their own
  key such as `campaign_dial`), and answers the others "icm restarted while running it;
  outcome unknown" (their senders raise `CommandOutcomeUnknown`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import redis

from . import command_schema, keys

log = logging.getLogger(__name__)

REPLY_TTL_SECONDS = 60
IDEMPOTENCY_TTL = 3600  # s: a sender's key icm took is recognised this long (a retry)
GRACE_SECONDS = 5.0  # s: how long a sender waits past its time-out for a taken command
DUPLICATE_WAIT = 30.0  # s: how long a duplicate waits for its first run's reply
RESTARTED = "icm restarted while running it; outcome unknown"


class CommandError(Exception):
    """icm refused or failed the command; the message is fit to show a user."""


class IcmUnavailable(CommandError):
    """No icm took the command in time (not running, or the switch is busy): it never ran."""


class CommandOutcomeUnknown(CommandError):
    """icm took the command but its reply never came (it died, or the command outlasted the
    wait): it may have run. Retry only with the same idempotency key, never with a new one."""


def send_command(
    client: redis.Redis,
    switch: str,
    name: str,
    args: dict[str, Any],
    timeout: float = 10,
    key: str | None = None,
    grace: float = GRACE_SECONDS,
) -> dict[str, Any]:
    """Ask the icm of `switch` to run a command; return its result or raise CommandError
    (IcmUnavailable: it never ran; CommandOutcomeUnknown: it was taken, its outcome unknown).
    `key` is the idempotency key (default: a new one, the command's id)."""
    command_id = uuid.uuid4().hex
    # icm refuses a command it takes after `expires`: the sender has stopped waiting by then.
    expires = time.time() + timeout
    payload = json.dumps(
        {"id": command_id, "key": key or command_id, "name": name, "args": args, "expires": expires}
    )
    pending = keys.commands_key(switch)
    client.lpush(pending, payload)  # a Redis error here: nothing was queued
    try:
        reply = _wait(client, command_id, timeout)
        if reply is None:
            # Withdraw it if icm never took it (LREM and icm's BLMOVE are atomic: one wins).
            if client.lrem(pending, 1, payload):
                raise IcmUnavailable(
                    f"icm for switch {switch} did not answer: {name} was not taken within "
                    f"{timeout:.0f}s; it was withdrawn and did not run"
                )
            reply = _wait(client, command_id, grace)
    except redis.RedisError as exc:
        raise CommandOutcomeUnknown(
            f"the command bus failed after {name} was queued for switch {switch} ({exc}); "
            "icm may have run it: outcome unknown"
        ) from exc
    if reply is None:
        raise CommandOutcomeUnknown(
            f"icm for switch {switch} took {name} but did not answer within "
            f"{timeout + grace:.0f}s: it may have run; outcome unknown"
        )
    return _result(reply, switch, name)


def _wait(client: redis.Redis, command_id: str, seconds: float) -> dict[str, Any] | None:
    popped = client.brpop([keys.reply_key(command_id)], timeout=max(seconds, 0.01))
    return json.loads(popped[1]) if popped is not None else None


def _result(reply: dict[str, Any], switch: str, name: str) -> dict[str, Any]:
    if reply.get("expired"):
        raise IcmUnavailable(
            f"icm for switch {switch} took {name} after its sender's deadline: it did not run"
        )
    if reply.get("unknown"):
        raise CommandOutcomeUnknown(f"{name} on switch {switch}: {reply.get('error', RESTARTED)}")
    if not reply.get("ok"):
        raise CommandError(reply.get("error", "command failed"))
    return reply.get("result") or {}


def post_command(
    client: redis.Redis, switch: str, name: str, args: dict[str, Any], ttl: float = 300
) -> None:
    """Queue a command for icm without waiting for its reply (idempotent notifications such
    as "reload this queue"); icm drops it if it has not run within `ttl` seconds."""
    command_id = uuid.uuid4().hex
    payload = {
        "id": command_id,
        "key": command_id,
        "name": name,
        "args": args,
        "expires": time.time() + ttl,
        "noreply": True,
    }
    client.lpush(keys.commands_key(switch), json.dumps(payload))


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class CommandServer:
    """icm's loop: take commands for one switch and run each with the registered handler.

    `spawn` runs a handler concurrently (a gevent pool's spawn in icm), so one slow command
    does not hold up the others; by default handlers run inline. `serve_forever` first
    recovers the commands a previous icm took and never answered (`recover`).
    """

    def __init__(
        self,
        client: redis.Redis,
        switch: str,
        handlers: dict[str, Handler],
        spawn: Callable[..., object] | None = None,
        rerunnable: frozenset[str] = command_schema.RERUNNABLE,
    ) -> None:
        self.redis = client
        self.switch = switch
        self.handlers = handlers
        self.spawn = spawn
        self.rerunnable = rerunnable
        self._running = True

    def stop(self) -> None:
        self._running = False

    def serve_forever(self, pop_timeout: int = 1) -> None:
        recovered = False
        while self._running:
            try:
                if not recovered:
                    self.recover()
                    recovered = True
                raw = self.take(pop_timeout)
            except redis.RedisError as exc:
                log.warning("commands: redis unavailable (%s); retrying", exc)
                time.sleep(1)
                continue
            if raw is None:
                continue
            self._dispatch(raw)

    def take(self, timeout: float = 1) -> bytes | None:
        """The next command, moved atomically to the taken list (None: none came)."""
        return self.redis.blmove(
            keys.commands_key(self.switch), keys.taken_key(self.switch), timeout, "RIGHT", "LEFT"
        )

    def _dispatch(self, raw: bytes | str, rerun: bool = False) -> None:
        handle = partial(self.handle, rerun=True) if rerun else self.handle
        if self.spawn is None:
            handle(raw)
        else:
            self.spawn(handle, raw)

    def recover(self) -> int:
        """Deal with the commands a previous icm of this switch took and never answered (it
        died): run again those safe to run twice and unexpired, answer the others "outcome
        unknown". Called once, before this icm takes anything."""
        taken = self.redis.lrange(keys.taken_key(self.switch), 0, -1)
        for raw in reversed(taken):  # oldest first
            command = _parse(raw)
            if command is None:
                self.redis.lrem(keys.taken_key(self.switch), 1, raw)
                continue
            rerun = command["name"] in self.rerunnable and not _expired(command)
            rerun = rerun and bool(command_schema.IDEMPOTENCY_KEY.pattern.fullmatch(command["key"]))
            log.warning(
                "command %s %s was taken by an icm that stopped before answering: %s",
                command["id"],
                command["name"],
                "running it again" if rerun else "its sender is told the outcome is unknown",
                extra={"command_id": command["id"], "command": command["name"]},
            )
            if rerun:
                self._dispatch(raw, rerun=True)
            else:
                reply = {"ok": False, "unknown": True, "error": RESTARTED}
                self._answer(raw, command, reply, store=True)
        return len(taken)

    def handle(self, raw: bytes | str, rerun: bool = False) -> None:
        """Run one taken command (once per idempotency key) and answer it. `rerun`: recovered
        from a dead icm, run again whatever its key's record says."""
        command = _parse(raw)
        if command is None:
            log.warning("commands: malformed command dropped: %r", raw[:200])
            self._drop(raw)
            return
        command_id, name = command["id"], command["name"]
        if _expired(command):
            log.warning("command %s %s refused: its sender stopped waiting", command_id, name)
            reply = {"ok": False, "expired": True, "error": f"{name}: expired before it ran"}
            self._answer(raw, command, reply, store=False)
            return
        if not command_schema.IDEMPOTENCY_KEY.pattern.fullmatch(command["key"]):
            error = f"{name} refused: idempotency key: {command_schema.IDEMPOTENCY_KEY.what}"
            self._answer(raw, command, {"ok": False, "error": error}, store=False)
            return
        record = keys.command_key_record(self.switch, name, command["key"])
        mine = json.dumps({"state": "running", "id": command_id})
        try:
            claimed = self.redis.set(record, mine, nx=not rerun, ex=_ttl(command))
        except redis.RedisError as exc:
            log.warning("command %s %s: key not claimed (%s); retried", command_id, name, exc)
            return  # still in the taken list: recovered at the next start
        if not claimed:
            reply = {**self._first_reply(record, command), "duplicate": True}
            log.info("command %s %s: key %s already taken", command_id, name, command["key"])
            self._answer(raw, command, reply, store=False)
            return
        reply = self._checked_run(command_id, name, command["args"])
        log.info("command %s %s -> %s", command_id, name, "ok" if reply["ok"] else reply["error"])
        self._answer(raw, command, reply, store=True)

    def _checked_run(self, command_id: str, name: str, args: Any) -> dict[str, Any]:
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
            return {"ok": False, "error": str(exc)}
        return self._run(name, args)

    def _first_reply(self, record: str, command: dict[str, Any]) -> dict[str, Any]:
        """The stored reply of the first run of this command's key (waited for while it
        runs, at most DUPLICATE_WAIT)."""
        deadline = time.monotonic() + DUPLICATE_WAIT
        while True:
            try:
                raw = self.redis.get(record)
            except redis.RedisError:
                raw = None
            state = json.loads(raw) if raw else {}
            if state.get("state") == "done":
                return dict(state["reply"])
            if not raw or time.monotonic() > deadline:
                error = f"{command['name']} with this key is already running; outcome unknown"
                return {"ok": False, "unknown": True, "error": error}
            time.sleep(0.05)

    def _answer(
        self, raw: bytes | str, command: dict[str, Any], reply: dict[str, Any], store: bool
    ) -> None:
        """In one MULTI: the reply stored under the key (`store`), pushed to the sender, and
        the command dropped from the taken list — all or nothing."""
        try:
            pipe = self.redis.pipeline(transaction=True)
            if store:
                record = keys.command_key_record(self.switch, command["name"], command["key"])
                done = json.dumps({"state": "done", "id": command["id"], "reply": reply})
                pipe.set(record, done, ex=_ttl(command))
            if not command.get("noreply"):
                pipe.lpush(keys.reply_key(command["id"]), json.dumps(reply))
                pipe.expire(keys.reply_key(command["id"]), REPLY_TTL_SECONDS)
            pipe.lrem(keys.taken_key(self.switch), 1, raw)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("commands: reply to %s lost: %s", command["id"], exc)

    def _drop(self, raw: bytes | str) -> None:
        try:
            self.redis.lrem(keys.taken_key(self.switch), 1, raw)
        except redis.RedisError as exc:
            log.warning("commands: malformed command not dropped: %s", exc)

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


def _parse(raw: bytes | str) -> dict[str, Any] | None:
    """The command's fields, or None when it is malformed."""
    try:
        command = json.loads(raw)
        parsed = {
            "id": str(command["id"]),
            "name": str(command["name"]),
            "args": command.get("args") or {},  # checked by command_schema before running
            "expires": float(command.get("expires") or 0),
            "noreply": bool(command.get("noreply")),
        }
        parsed["key"] = str(command.get("key") or parsed["id"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return parsed


def _ttl(command: dict[str, Any]) -> int:
    """How long a key's record is kept: a sender's own key IDEMPOTENCY_TTL (its retries are
    recognised); the default one (the command id, which nobody sends twice) about as long
    as a reply."""
    return IDEMPOTENCY_TTL if command["key"] != command["id"] else REPLY_TTL_SECONDS


def _expired(command: dict[str, Any]) -> bool:
    return bool(command["expires"]) and time.time() > command["expires"]
