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

import json
import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.pool
import gevent.queue
import redis
from django.db import DatabaseError, close_old_connections
from greenswitch.esl import NotConnectedError

from icm.acd_config import load_agent, load_agents, load_gateway, load_policies, load_policy
from icm.acd_runtime import (
    AcdError,
    AcdRequest,
    AcdRuntime,
    AcdTick,
    CallbackRequested,
    ContactArrived,
    OfferLegFailed,
    RepairLeg,
)
from icm.agent_calls import AgentCallControl
from icm.bus import keys
from icm.bus.commands import CommandError, CommandServer
from icm.bus.publisher import StatePublisher
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.agent_fsm import AgentStateChanged
from icm.domain.acd.model import AgentState
from icm.domain.acd.outputs import ContactFinished, OfferContact
from icm.domain.calls import CallRecord, LiveCalls
from icm.ivr_session import make_ivr_app
from icm.store import CdrStore, ensure_switch, set_switch_status, write_agent_changes
from icm.switch.driver import ResyncReady, SwitchAddress, SwitchDriver
from icm.switch.outbound import OutboundServer
from icm.switch.translator import UnsafeArgument, command_to_api, translate

log = logging.getLogger(__name__)
QUEUE_STATS_SECONDS = 2.0
PERSIST_CHUNK = 10  # calls per upsert statement: keeps CPU bursts (and dispatch p99) short
ACD_COMMANDS = (
    "agent_login",
    "agent_logout",
    "agent_ready",
    "agent_not_ready",
    "end_wrap_up",
    "extend_wrap_up",
    "agent_reject",
    "reload_queue",
    "reload_agent",
)


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
    reconcile_interval: float = 10.0
    reconcile_grace: float = 5.0


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
            {
                "hangup": self.cmd_hangup,
                "originate": self.cmd_originate,
                "hold": self.cmd_hold,
                "queue_metric": self.cmd_queue_metric,
                "agent_call": lambda args: self.agent_calls.run(args),
                **{name: self._acd_command(name) for name in ACD_COMMANDS},
            },
            spawn=gevent.pool.Pool(50).spawn,
        )
        self.acd = AcdRuntime(
            self.name,
            self.driver.bgapi_nowait,
            self.inbox.put,
            self._agent_changed,
            self._contact_finished,
            self._apply,
            load_policy=_with_fresh_connection(load_policy),
            load_agent=_with_fresh_connection(load_agent),
            load_gateway=_with_fresh_connection(load_gateway),
            on_offer=self._screen_pop,
            leg_channel=self._leg_channel,
        )
        self.agent_calls = AgentCallControl(
            self.name, self.acd, self.model, self._api, self.driver.bgapi
        )
        self._agent_changes: list[AgentStateChanged] = []
        self._other_publications: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self.outbound = OutboundServer(
            config.outbound_host,
            config.outbound_port,
            application=make_ivr_app(
                self.name,
                self.inbox.put,
                self.queue_status,
                self.request_callback,
                self.queue_metric,
            ),  # fmt: skip
            max_connections=5000,  # IVR sessions at once (bench: 2,000 held)
        )
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
        policies, refused = load_policies()
        for queue, why in refused.items():
            log.error("icm %s: queue %s refused: %s", self.name, queue, why)
        self.acd.configure(policies, load_agents())
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
            self._acd_timers,
            self._reconcile_loop,
            self._queue_stats_loop,
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
        now = datetime.now(tz=UTC)
        self.publisher.publish_status(self.name, False, now.isoformat(), "icm stopped")
        self._pending_status = (False, now)
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
        """Apply one frame / marker / domain event to the live model (and the ACD)."""
        if isinstance(item, dict):
            self.acd.trigger_time = item.get("_rx")
        elif isinstance(item, ContactArrived):
            self.acd.trigger_time = item.posted
        else:
            self.acd.trigger_time = None
        self._handle(item)

    def _handle(self, item: object) -> None:
        if isinstance(item, dict):
            if item.get("Event-Name") == "BACKGROUND_JOB":
                self._job_done(item)
                return
            event = translate(self.name, item)
            if event is None:
                return
        elif isinstance(item, ContactArrived):
            self.acd.contact_arrived(item.contact)
            return
        elif isinstance(item, AcdRequest):
            self.acd.request(item)
            return
        elif isinstance(item, AcdTick):
            self.acd.tick()
            return
        elif isinstance(item, OfferLegFailed):
            self.acd.originate_failed(item.leg, item.cause)
            return
        elif isinstance(item, CallbackRequested):
            self.acd.callback_requested(item)
            return
        elif isinstance(item, RepairLeg):
            self.acd.repair(item.agent_id, item.leg)
            return
        elif isinstance(item, ResyncReady):
            event = item.event
            log.info("icm %s: resync with %d legs on the switch", self.name, len(event.legs))
        elif isinstance(item, ev.SwitchConnectionChanged):
            self._switch_status(item)
            return
        else:
            event = item  # type: ignore[assignment]
        if isinstance(event, ev.LegHungUp):
            self.acd.on_event(event)  # first: the call is still live to record the outcome
        self._apply(event)  # type: ignore[arg-type]
        if isinstance(event, ev.LegAnswered):
            self.acd.on_event(event)

    def _apply(self, event: ev.DomainEvent) -> None:
        changed = self.model.apply(event)
        for rec in changed:
            key = (rec.switch, rec.call_uuid)
            self._to_publish[key] = rec
            self._to_persist[key] = rec

    # --- the ACD -------------------------------------------------------------------------
    def _acd_timers(self) -> None:
        """Sleep until the engine's next deadline (or a change), then have it ticked."""
        while True:
            deadline = self.acd.acd.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            self.acd.wake.clear()
            if not self.acd.wake.wait(timeout):
                self.inbox.put(AcdTick())
                gevent.sleep(0.001)

    def _reconcile_loop(self) -> None:
        """Every `reconcile_interval` s, ask the switch about agents' legs that should exist;
        a leg that is gone means an event was lost: repair the agent (logged)."""
        while True:
            gevent.sleep(self.config.reconcile_interval)
            if not self.driver.connected.is_set():
                continue
            for agent_id, leg in self.acd.legs_to_check(older_than=self.config.reconcile_grace):
                try:
                    exists = self.driver.api(f"uuid_exists {leg}").strip()
                except NotConnectedError:
                    break
                if exists == "false":
                    self.inbox.put(RepairLeg(agent_id, leg))

    def queue_figures(self) -> dict[str, dict[str, float]]:
        """Every queue's live figures (read-only; for desktops and wallboards)."""
        now = time.time()
        figures = {}
        for queue in self.acd.acd.policies:
            waiting = [c for c in self.acd.acd.waiting.get(queue, {}).values() if not c.offered_to]
            figures[queue] = {
                "waiting": float(len(waiting)),
                "longest_wait": round(max((now - c.enqueued_at for c in waiting), default=0.0), 1),
                "agents_ready": self.queue_metric("agents_ready", queue),
                "agents_logged_in": self.queue_metric("agents_logged_in", queue),
                "expected_wait": round(self.queue_metric("expected_wait", queue), 1),
            }
        return figures

    def _queue_stats_loop(self) -> None:
        """Every QUEUE_STATS_SECONDS: the queues' figures in Redis and as a `queue.stats`
        event (desktops show their skill groups' queues, AG-12)."""
        while True:
            gevent.sleep(QUEUE_STATS_SECONDS)
            try:
                figures = self.queue_figures()
                self.redis.set(keys.queues_key(self.name), json.dumps(figures), ex=60)
                self._publish_later(self.publisher.publish_event, self.name, "queue.stats",
                                    {"queues": figures})  # fmt: skip
            except (redis.RedisError, KeyError) as exc:
                log.warning("icm %s: queue figures not published: %s", self.name, exc)

    def queue_status(self, contact_id: str) -> tuple[int, float, float] | None:
        """(position, expected wait, announce interval) of a contact waiting unoffered.

        Read-only, from IVR greenlets: gevent switches only at I/O, never inside the engine.
        """
        acd = self.acd.acd
        contact = acd.contacts.get(contact_id)
        if contact is None or contact.offered_to:
            return None
        policy = acd.policies[contact.queue]
        return (
            acd.position(contact_id, time.time()),
            acd.expected_wait(contact.queue),
            (policy.announce_seconds),
        )

    def queue_metric(self, metric: str, queue: str) -> float:
        """A live figure of a queue for IVR flows (read-only, like queue_status):
        queue_length, agents_ready, agents_logged_in, expected_wait (s; 86400 when nobody
        serves a queue that has callers). KeyError for an unknown queue or metric."""
        acd = self.acd.acd
        if queue not in acd.policies:
            raise KeyError(f"unknown queue {queue!r}")
        members = [acd.agents[a] for a in acd.members.get(queue, ()) if a in acd.agents]
        if metric == "queue_length":
            return float(len(acd.waiting.get(queue, {})))
        if metric == "agents_ready":
            return float(sum(1 for a in members if a.state is AgentState.READY))
        if metric == "agents_logged_in":
            return float(sum(1 for a in members if a.state is not AgentState.LOGGED_OUT))
        if metric == "expected_wait":
            return min(acd.expected_wait(queue), 86400.0)
        raise KeyError(f"unknown metric {metric!r}")

    def request_callback(self, contact_id: str) -> bool:
        """From an IVR greenlet: turn the waiting contact into a call-back (True if done)."""
        request = CallbackRequested(contact_id)
        self.inbox.put(request)
        return bool(request.result.get(timeout=5))

    def _acd_command(self, name: str):  # noqa: ANN202
        def run(args: dict[str, Any]) -> dict[str, Any]:
            request = AcdRequest(name, args)
            self.inbox.put(request)
            try:
                return request.result.get(timeout=self.config.command_timeout)
            except AcdError as exc:
                raise CommandError(str(exc)) from exc

        return run

    def _agent_changed(self, change: AgentStateChanged) -> None:
        self._agent_changes.append(change)
        agent = self.acd.acd.agents.get(change.agent_id)
        self._publish_later(
            self.publisher.publish_agent,
            self.name,
            change.agent_id,
            {
                "agent": change.agent_id,
                "state": str(change.to_state),
                "reason": change.reason,
                "since": change.at,
                "contact": agent.contact_id if agent else "",
                "offer": self._offer_card(agent.contact_id) if agent and agent.contact_id else None,
            },
        )

    def _offer_card(self, contact_id: str) -> dict[str, Any] | None:
        """What the desktop shows of the agent's contact (kept in the agent's snapshot so a
        page that reloads while the phone rings still shows the screen pop)."""
        contact = self.acd.acd.contacts.get(contact_id)
        if contact is None:
            return None
        return {"contact": contact_id, "queue": contact.queue, "ani": contact.ani,
                "customer": contact.customer_id, "media": str(contact.media),
                "attached": contact.attached, "priority": contact.priority}  # fmt: skip

    def _leg_channel(self, uuid: str) -> str:
        call = self.model.call_of_leg(self.name, uuid)
        leg = next((leg for leg in call.legs if leg.uuid == uuid), None) if call else None
        return leg.channel_name if leg else ""

    def _screen_pop(self, offer: OfferContact) -> None:
        self._publish_later(
            self.publisher.publish_event,
            self.name,
            "contact.offered",
            {
                "contact": offer.contact_id,
                "queue": offer.queue,
                "agents": list(offer.agent_ids),
                "ani": offer.ani,
                "media": offer.media,
                "attached": offer.attached,
                "customer": self.acd.acd.contacts[offer.contact_id].customer_id
                if offer.contact_id in self.acd.acd.contacts
                else "",
            },
        )

    def _contact_finished(self, done: ContactFinished, routing: dict[str, Any]) -> None:
        call = self.model.call_of_leg(self.name, done.contact_id)
        if call is None and done.agent_id:  # a call-back: the caller's first call is over
            call = self.model.call_of_leg(self.name, self.acd.agent_leg.get(done.agent_id, ""))
        if call is None:
            return
        outcome = {"outcome": str(done.outcome), "waited": round(done.waited, 3),
                   "media": done.media}  # fmt: skip
        if done.target_kind:
            outcome["overflow"] = f"{done.target_kind}:{done.target}"
        self._apply(
            ev.CallAssigned(self.name, call.call_uuid, done.agent_id, {**routing, **outcome},
                            datetime.now(tz=UTC))
        )  # fmt: skip

    def _switch_status(self, item: ev.SwitchConnectionChanged) -> None:
        self.publisher.publish_status(self.name, item.connected, item.at.isoformat(), item.detail)
        self._pending_status = (item.connected, item.at)  # saved by the persister

    def _job_done(self, headers: dict[str, str]) -> None:
        result = (headers.get("_body") or "").strip()
        if self.acd.job_done(headers.get("Job-UUID", ""), result):
            return
        purpose = self._jobs.pop(headers.get("Job-UUID", ""), None)
        if purpose is None:
            return
        result = (headers.get("_body") or "").strip()
        if result.startswith("-"):
            log.warning("icm %s: %s failed: %s", self.name, purpose, result)
        else:
            log.info("icm %s: %s: %s", self.name, purpose, result)

    # --- output batches ------------------------------------------------------------------
    def _publish_later(self, publish: Callable[..., None], *args: Any) -> None:
        """Queue a bus publication for the publisher greenlet: the consumer (dispatch) never
        waits on a Redis round trip."""
        self._other_publications.append((publish, args))

    def _publish_loop(self) -> None:
        while True:
            gevent.sleep(self.config.publish_interval)
            if self._to_publish:
                batch, self._to_publish = self._to_publish, {}
                self.publisher.publish_calls(batch.values())
            if self._other_publications:
                pending, self._other_publications = self._other_publications, []
                for publish, args in pending:
                    publish(*args)

    def _persist_loop(self) -> None:
        backoff = self.config.persist_interval
        while True:
            gevent.sleep(backoff)
            backoff = (
                self.config.persist_interval if self._flush_persist() else min(backoff * 2, 10)
            )

    def _flush_persist(self) -> bool:
        if self._agent_changes:
            changes, self._agent_changes = self._agent_changes, []
            try:
                write_agent_changes(self.name, changes)
            except DatabaseError as exc:
                log.warning("icm %s: agent state log not saved (%s); retrying", self.name, exc)
                close_old_connections()
                self._agent_changes = changes + self._agent_changes
                return False
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
            records = list(batch.values())
            for start in range(0, len(records), PERSIST_CHUNK):
                self.store.write(records[start : start + PERSIST_CHUNK])
                gevent.sleep(0)  # let dispatch run between chunks
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
    def _api(self, command: cmd.SwitchCommand | str) -> str:
        """Run one api command (a domain command, or a line built from checked values)."""
        try:
            line = command if isinstance(command, str) else command_to_api(command)
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

    def cmd_queue_metric(self, args: dict[str, Any]) -> dict[str, Any]:
        """A live queue figure for the flow simulator (see queue_metric)."""
        try:
            value = self.queue_metric(str(args.get("metric", "")), str(args.get("queue", "")))
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from exc
        return {"value": value}

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


def _with_fresh_connection(func):  # noqa: ANN001, ANN202
    """Run a look-up, then drop the consumer greenlet's connection if it broke meanwhile."""

    def run(*args):  # noqa: ANN002, ANN202
        close_old_connections()
        return func(*args)

    return run


def _describe(item: object) -> str:
    if isinstance(item, dict):
        return f"{item.get('Event-Name')} {item.get('Unique-ID', '')}"
    return type(item).__name__
