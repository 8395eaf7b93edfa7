"""The icm daemon's wiring for one switch: driver → domain → (bus, CDR store); bus → commands.

Greenlets:
- driver: the ESL connection (reader greenlet inside), reconnect and resync;
- consumer: translates frames and applies them to the live model (the single writer);
- publisher: sends changed calls to the Redis bus in small batches (live pages);
- persister: upserts CDRs in batches; keeps them while the database is unreachable;
- commands: runs commands from web / Celery against the switch;
- outbound: the outbound-socket server for IVR calls.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gevent
import gevent.pool
import gevent.queue
import redis
from django.db import DatabaseError, close_old_connections
from greenswitch.esl import NotConnectedError

from icm.bus.commands import CommandError, CommandServer
from icm.bus.publisher import StatePublisher
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.calls import CallRecord, LiveCalls
from icm.ivr_session import make_ivr_app
from icm.store import CdrStore, ensure_switch, set_switch_status
from icm.switch.driver import ResyncReady, SwitchAddress, SwitchDriver
from icm.switch.outbound import OutboundServer
from icm.switch.translator import UnsafeArgument, command_to_api, translate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IcmConfig:
    switch: SwitchAddress
    redis_url: str
    outbound_host: str
    outbound_port: int
    command_timeout: float = 10
    heartbeat_timeout: float = 45
    publish_interval: float = 0.02
    persist_interval: float = 0.2


class IcmService:
    """One switch's icm: owns the live model and every greenlet that touches it."""

    def __init__(self, config: IcmConfig) -> None:
        self.config = config
        self.name = config.switch.name
        self.model = LiveCalls()
        self.inbox: gevent.queue.Queue = gevent.queue.Queue()
        self.driver = SwitchDriver(
            config.switch,
            self.inbox.put,
            command_timeout=config.command_timeout,
            heartbeat_timeout=config.heartbeat_timeout,
        )
        self.redis = redis.Redis.from_url(config.redis_url, socket_timeout=5)
        self.publisher = StatePublisher(self.redis, self.model.calls)
        self.store = CdrStore()
        self.commands = CommandServer(
            self.redis,
            self.name,
            {"hangup": self.cmd_hangup, "originate": self.cmd_originate, "hold": self.cmd_hold},
            spawn=gevent.pool.Pool(50).spawn,
        )
        self.outbound = OutboundServer(
            config.outbound_host,
            config.outbound_port,
            application=make_ivr_app(self.name, self.inbox.put),
            max_connections=2000,
        )
        self.events_applied = 0
        self._jobs: dict[str, str] = {}  # bgapi Job-UUID -> what it was for
        self._pending_status: tuple[bool, datetime] | None = None
        self._to_publish: dict[tuple[str, str], CallRecord] = {}
        self._to_persist: dict[tuple[str, str], CallRecord] = {}
        self._greenlets: list[gevent.Greenlet] = []

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        sw = self.config.switch
        ensure_switch(self.name, sw.host, sw.port)
        self.model.seed(self.store.load_live(self.name))
        close_old_connections()
        log.info(
            "icm %s: %d calls live from the database before resync", self.name, len(self.model)
        )
        self.publisher.reset(self.name)
        for target in (
            self.driver.run,
            self._consume,
            self._publish_loop,
            self._persist_loop,
            self.commands.serve_forever,
            self.outbound.listen,
        ):
            self._greenlets.append(gevent.spawn(target))

    def stop(self) -> None:
        """Stop taking input, apply what was received, then persist everything."""
        self.commands.stop()
        self.driver.stop()
        self.outbound.stop()
        while not self.inbox.empty():
            self.handle(self.inbox.get())
        gevent.killall(self._greenlets, timeout=5)
        self._flush_persist()

    def wait(self) -> None:
        gevent.joinall(self._greenlets, raise_error=False)

    # --- the single writer of live state -------------------------------------------------
    def _consume(self) -> None:
        while True:
            item = self.inbox.get()
            try:
                self.handle(item)
            except Exception:
                log.exception("icm %s: failed to apply %r", self.name, _describe(item))

    def handle(self, item: object) -> None:
        """Apply one frame / marker / domain event to the live model."""
        if isinstance(item, dict):
            if item.get("Event-Name") == "BACKGROUND_JOB":
                self._job_done(item)
                return
            event = translate(self.name, item)
            if event is None:
                return
        elif isinstance(item, ResyncReady):
            event = item.event
            log.info("icm %s: resync with %d legs on the switch", self.name, len(event.legs))
        elif isinstance(item, ev.SwitchConnectionChanged):
            self._switch_status(item)
            return
        else:
            event = item  # type: ignore[assignment]
        changed = self.model.apply(event)  # type: ignore[arg-type]
        self.events_applied += 1
        for rec in changed:
            key = (rec.switch, rec.call_uuid)
            self._to_publish[key] = rec
            self._to_persist[key] = rec

    def _switch_status(self, item: ev.SwitchConnectionChanged) -> None:
        self.publisher.publish_status(self.name, item.connected, item.at.isoformat(), item.detail)
        self._pending_status = (item.connected, item.at)  # saved by the persister

    def _job_done(self, headers: dict[str, str]) -> None:
        purpose = self._jobs.pop(headers.get("Job-UUID", ""), None)
        if purpose is None:
            return
        result = (headers.get("_body") or "").strip()
        if result.startswith("-"):
            log.warning("icm %s: %s failed: %s", self.name, purpose, result)
        else:
            log.info("icm %s: %s: %s", self.name, purpose, result)

    # --- output batches ------------------------------------------------------------------
    def _publish_loop(self) -> None:
        while True:
            gevent.sleep(self.config.publish_interval)
            if self._to_publish:
                batch, self._to_publish = self._to_publish, {}
                self.publisher.publish_calls(batch.values())

    def _persist_loop(self) -> None:
        backoff = self.config.persist_interval
        while True:
            gevent.sleep(backoff)
            backoff = (
                self.config.persist_interval if self._flush_persist() else min(backoff * 2, 10)
            )

    def _flush_persist(self) -> bool:
        if self._pending_status is not None:
            status, self._pending_status = self._pending_status, None
            try:
                set_switch_status(self.name, *status)
            except DatabaseError as exc:
                log.warning("icm %s: switch status not saved: %s", self.name, exc)
                close_old_connections()
                self._pending_status = self._pending_status or status
                return False
        if not self._to_persist:
            return True
        batch, self._to_persist = self._to_persist, {}
        try:
            self.store.write(batch.values())
            return True
        except DatabaseError as exc:
            log.error(
                "icm %s: CDR write failed (%s); %d calls kept for retry", self.name, exc, len(batch)
            )
            close_old_connections()
            batch.update(self._to_persist)  # newer records win
            self._to_persist = batch
            return False

    # --- commands from the bus -----------------------------------------------------------
    def _api(self, command: cmd.SwitchCommand) -> str:
        try:
            line = command_to_api(command)
        except UnsafeArgument as exc:
            raise CommandError(str(exc)) from exc
        try:
            reply = self.driver.api(line).strip()
        except NotConnectedError as exc:
            raise CommandError(f"switch {self.name} is not connected") from exc
        if reply.startswith("-"):
            raise CommandError(reply.lstrip("-").strip())
        return reply

    def cmd_hangup(self, args: dict[str, Any]) -> dict[str, Any]:
        uuid = str(args.get("uuid", ""))
        call = self.model.call(self.name, uuid) or self.model.call_of_leg(self.name, uuid)
        if call is None:
            raise CommandError(f"no live call {uuid!r} on switch {self.name}")
        cause = str(args.get("cause") or "NORMAL_CLEARING")
        for leg in call.legs:
            if leg.hungup_at is None:
                try:
                    self._api(cmd.HangupLeg(leg.uuid, cause))
                except CommandError as exc:
                    # Killing one leg often takes its bridged partner down with it.
                    if "No such channel" not in str(exc):
                        raise
        return {"call_uuid": call.call_uuid}

    def cmd_hold(self, args: dict[str, Any]) -> dict[str, Any]:
        uuid = str(args.get("uuid", ""))
        if self.model.call_of_leg(self.name, uuid) is None:
            raise CommandError(f"no live leg {uuid!r} on switch {self.name}")
        self._api(cmd.HoldLeg(uuid, bool(args.get("hold", True))))
        return {"uuid": uuid}

    def cmd_originate(self, args: dict[str, Any]) -> dict[str, Any]:
        """Start a call in the background (bgapi: ringing must not block the event socket)."""
        call_uuid = str(uuidlib.uuid4())
        try:
            command = cmd.OriginateCall(
                endpoint=str(args["endpoint"]),
                destination=str(args["destination"]),
                context=str(args.get("context") or "default"),
                caller_id_number=str(args.get("caller_id_number") or ""),
                uuid=call_uuid,
            )
            line = command_to_api(command)
        except KeyError as exc:
            raise CommandError(f"originate needs {exc.args[0]}") from exc
        except UnsafeArgument as exc:
            raise CommandError(str(exc)) from exc
        try:
            reply = self.driver.bgapi(line)
        except NotConnectedError as exc:
            raise CommandError(f"switch {self.name} is not connected") from exc
        if not reply.startswith("+OK"):
            raise CommandError(reply.lstrip("-").strip() or "originate refused")
        job = reply.rsplit(" ", 1)[-1]
        self._jobs[job] = f"originate {call_uuid} {command.endpoint} -> {command.destination}"
        return {"uuid": call_uuid, "job_uuid": job}

    # --- figures -------------------------------------------------------------------------
    def stats(self) -> dict[str, float]:
        return {
            "events_applied": self.events_applied,
            "events_received": self.driver.connection.events_received
            if self.driver.connection
            else 0,
            "live_calls": len(self.model),
            "live_legs": self.model.leg_count(),
            "time": time.monotonic(),
        }


def _describe(item: object) -> str:
    if isinstance(item, dict):
        return f"{item.get('Event-Name')} {item.get('Unique-ID', '')}"
    return type(item).__name__
