"""The icm daemon's wiring for one switch: builds the features, registers their contracts with
the dispatcher and the bus, and runs the greenlets.

Greenlets:
- driver: the switch connection (reader greenlet inside), reconnect and resync;
- consumer: takes the inbox in order and dispatches each item (the single writer);
- publisher: sends changed calls and other publications to the Redis bus in small batches;
- persister: flushes the outbox (CDRs, agent log, facts, recordings …) with back-off;
- commands: runs bus commands from web / Celery; outbound: the IVR calls' socket server;
- timers: the ACD's deadlines, the reconciler, the wallboard's figures, the campaign pacer.

A call event's way: switch → driver (frame) → inbox → consumer: the adapter's `decode` makes
it a domain event → dispatcher → the features registered for its type (the live model first or
last as `LiveCallState` orders it) → publisher → Redis → web consumers → browser.
"""

from __future__ import annotations

import logging
import time
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import gevent
import gevent.event
import gevent.pool
import redis
from django.db import DatabaseError, close_old_connections

from icm.acd_config import load_agent, load_agents, load_gateway, load_policies, load_policy
from icm.bus.commands import CommandError, CommandServer
from icm.bus.publisher import StatePublisher
from icm.daemon import loops
from icm.daemon.acd import contract as acd_contract
from icm.daemon.acd.agent_calls import AgentCallControl
from icm.daemon.acd.messages import ContactArrived
from icm.daemon.acd.phone_codes import run_phone_code
from icm.daemon.acd.queue_figures import QueueFigures
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.acd.session_store import load_agent_sessions, write_agent_sessions
from icm.daemon.acd_reactions import AcdReactions
from icm.daemon.agent_view import AgentViews
from icm.daemon.callbacks import contract as callbacks_contract
from icm.daemon.callbacks.booked import BookedCallbacks
from icm.daemon.calls import contract as calls_contract
from icm.daemon.calls.commands import CallCommands
from icm.daemon.calls.live import LiveCallState
from icm.daemon.calls.store import (
    CdrStore,
    ensure_switch,
    save_callback_outcomes,
    set_switch_status,
    write_agent_changes,
)
from icm.daemon.campaigns import contract as campaigns_contract
from icm.daemon.campaigns.dialer import CampaignDialer
from icm.daemon.consults import contract as consults_contract
from icm.daemon.consults.consultations import Consults
from icm.daemon.contacts import TransferFailed, TransferStarted, VoiceContacts
from icm.daemon.dispatcher import Dispatcher
from icm.daemon.feature import Features
from icm.daemon.freeswitch.adapter import FREESWITCH, SwitchAddress
from icm.daemon.freeswitch.outbound import OutboundServer
from icm.daemon.inbox import LIMIT as INBOX_LIMIT
from icm.daemon.inbox import Inbox
from icm.daemon.internal_calls import contract as internal_calls
from icm.daemon.ivr.session import make_ivr_app
from icm.daemon.outbox import Outbox
from icm.daemon.publishing import PublishQueue
from icm.daemon.recording import contract as recording_contract
from icm.daemon.recording.live_listen import LiveTaps
from icm.daemon.recording.recorder import Recorder
from icm.daemon.recording.store import (
    load_active_recordings,
    load_recording_rules,
    write_recordings,
)
from icm.daemon.registrations import contract as registrations_contract
from icm.daemon.supervision import contract as supervision_contract
from icm.daemon.supervision.live_figures import LiveFigures
from icm.daemon.supervision.monitoring import Monitoring
from icm.daemon.supervision.store import (
    load_alarm_limits,
    local_day_start,
    seed_day_figures,
    system_event,
    write_system_events,
)
from icm.daemon.switch import (
    CommandRefused,
    ResyncReady,
    SwitchAdapter,
    SwitchDriver,
    SwitchNotConnected,
)
from icm.daemon.switch_status import SwitchStatus
from icm.daemon.voicemail import contract as voicemail_contract
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.day_figures import DayFigures
from icm.domain.acd.model import AgentState
from icm.domain.calls import LiveCalls
from icm.domain.facts import FactBuilder
from icm.models import SystemEvent
from outbound.attempt_store import write_attempt_updates
from outbound.dialling import system_rules
from outbound.domain.dialling_rules import DiallingRules, refusal
from stats.fact_writer import write_facts

log = logging.getLogger(__name__)
PERSIST_CHUNK = 10  # calls per upsert statement: keeps CPU bursts (and dispatch p99) short
PERSIST_ROWS = 100  # facts or agent state changes per insert, for the same reason


@dataclass(frozen=True)
class IcmConfig:
    switch: SwitchAddress
    redis_url: str
    outbound_host: str
    outbound_port: int
    outbound_allowed: tuple[str, ...] = ()  # networks beside loopback (ICM_OUTBOUND_ALLOWED)
    command_timeout: float = 10
    heartbeat_timeout: float = 45
    publish_interval: float = 0.02
    persist_interval: float = 0.2
    reconcile_interval: float = 10.0
    reconcile_grace: float = 5.0
    not_ready_alarm_seconds: float | None = 900.0  # wallboard alarm: not ready longer
    snapshot_seconds: float = 30.0  # a system snapshot fact every … (0: none)
    recordings_dir: str = "var/recordings"  # where the switch writes recordings (shared)
    time_zone: str = "UTC"  # the recording policies' time windows
    outbox_dir: str | None = None  # where unsaved rows spill beyond `outbox_limit` (None: none)
    outbox_limit: int = 50_000  # rows per outbox stream kept in memory
    adapter: SwitchAdapter = FREESWITCH  # the make of switch (its driver and its frames)
    inbox_limit: int = INBOX_LIMIT  # items waiting for the consumer (icm.daemon.inbox)


class IcmService:
    """One switch's icm: owns the live model and every greenlet that touches it."""

    def __init__(self, config: IcmConfig) -> None:
        self.config = config
        self.name = name = config.switch.name
        self.model = LiveCalls()
        self.inbox = Inbox(name, config.inbox_limit)  # producers wait while it is full
        post = self.inbox.put
        self.dispatcher = Dispatcher()
        self.features = features = Features()
        self.decode = config.adapter.decode
        self.driver: SwitchDriver = config.adapter.driver(
            config.switch,
            post,
            command_timeout=config.command_timeout,
            heartbeat_timeout=config.heartbeat_timeout,
        )
        self.redis = redis.Redis.from_url(config.redis_url, socket_timeout=5)
        self.publisher = StatePublisher(
            self.redis, self.model.calls, lambda switch: self.views.live_state(switch)
        )
        self.publishing = PublishQueue(self.publisher, config.publish_interval)
        later = self.publishing.later
        self.store = CdrStore()
        self._build_outbox()
        self.dialling_rules = DiallingRules()  # issue 18 item 4: loaded at start and then
        self.acd = AcdRuntime(
            name,
            self.driver.bgapi_nowait,
            post,
            lambda change: self.reactions.agent_changed(change),
            lambda done, routing: self.reactions.contact_finished(done, routing),
            lambda event: self.calls.apply(event),
            load_policy=loops.with_fresh_connection(load_policy),
            load_agent=loops.with_fresh_connection(load_agent),
            load_gateway=loops.with_fresh_connection(load_gateway),
            on_offer=lambda offer: self.reactions.screen_pop(offer),
            leg_channel=lambda uuid: self.calls.leg_channel(uuid),
            intercept_leg_failed=features.leg_failed,
            number_refusal=self._number_refusal,
            in_consultation=lambda agent_id: self.consults.of(agent_id) is not None,
        )
        self.facts = FactBuilder(name)
        self.contacts = VoiceContacts(
            self.dispatcher.dispatch,
            lambda data: later(self.publisher.publish_event, name, data),
        )
        self.calls = LiveCallState(
            name, self.model, self.acd, features, self._held, self._call_changed, self._resynced
        )
        self.figures = QueueFigures(self.acd.acd)
        self.day = DayFigures(
            lambda ts: local_day_start(ts).timestamp(), self.acd.service_level_seconds
        )
        self.live = LiveFigures(self.figures, self.day, self.calls.party)
        self.live.database = lambda: self.outbox.health()
        self.live.not_ready_limit = config.not_ready_alarm_seconds
        self.views = AgentViews(name, self.acd, features, self.live, self.publisher, later)
        self._next_snapshot = 0.0
        self.recorder = Recorder(
            name,
            self.driver.bgapi_nowait,
            config.recordings_dir,
            config.time_zone,
            self.recording_rows.put,
        )
        self._stopping = False
        self._stopped = gevent.event.Event()
        self._persist_stop = gevent.event.Event()  # the persister ends between two writes
        self._persister: gevent.Greenlet | None = None
        self.call_commands = CallCommands(name, self.model, self.figures, self._api, self._bgapi)
        self.consults = Consults(name, self.acd, self.model, self.views.changed)
        self.agent_calls = AgentCallControl(
            name,
            self.acd,
            self.model,
            self._api,
            self._bgapi,
            self.consults,
            post,
            direct_ringing_leg=features.ringing_leg,
        )
        call_of_leg = self.calls.call_of_leg
        self.monitoring = Monitoring(
            name, self.agent_calls.call_legs, call_of_leg, self._bgapi, post
        )
        self.taps = LiveTaps(
            name, config.recordings_dir, self.agent_calls.call_legs, call_of_leg, self._api
        )
        self.campaigns = CampaignDialer(
            name,
            self.redis,
            self.driver.bgapi_nowait,
            self._api,
            self.acd,
            post,
            self.attempt_updates.put,
            f"{config.outbound_host}:{config.outbound_port}",
            ring_agent=lambda call, reserved: self.booked.ring_campaign(call, reserved),
            view_changed=self.views.changed,
            number_refusal=self._number_refusal,
        )
        self.booked = BookedCallbacks(
            name,
            self.acd,
            lambda *outcome: self.callback_outcomes.put(outcome),
            campaigns=self.campaigns,
        )
        self.reactions = AcdReactions(
            name,
            self.acd,
            self.calls,
            self.day,
            self.facts,
            self.recorder,
            self.campaigns,
            self.views,
            self.publisher,
            later,
            post,
            self.agent_changes,
            self.agent_sessions,
            self.contacts,
        )
        self._wire_features()
        self.switch_status = SwitchStatus(
            name,
            self.driver,
            self.live,
            self.views,
            self.publisher,
            later,
            post,
            self.system_events.put,
            self.status_row.put,
            self.campaigns.switch_connected,  # which AMD modules it has now
        )
        self._register_core()
        self.commands = CommandServer(
            self.redis,
            name,
            {**features.commands(), "agent_call": self._agent_call},
            spawn=loops.pool_closing_connections(50),
        )
        self.outbound = OutboundServer(
            config.outbound_host,
            config.outbound_port,
            application=make_ivr_app(
                name,
                post,
                self.figures.status,
                self.acd.waiting,
                self.figures.metric,
                partial(run_phone_code, agents_by_extension=self.acd.extension_agents, post=post),
            ),
            max_connections=5000,  # IVR sessions at once (bench: 2,000 held)
            allowed=config.outbound_allowed,
        )
        self.wallboard = loops.WallboardLoop(
            name,
            self.live,
            self.publisher,
            later,
            self.driver,
            self.recorder,
            self.system_events.put,
            self._set_dialling_rules,
        )
        self._greenlets: list[gevent.Greenlet] = []

    def _build_outbox(self) -> None:
        """The outbox's streams, in the order they are written (a later one never overtakes)."""
        config, name = self.config, self.name
        box = self.outbox = Outbox(
            name,
            retry_on=(DatabaseError,),
            after_failure=close_old_connections,
            spill_dir=f"{config.outbox_dir}/{name}" if config.outbox_dir else None,
            limit=config.outbox_limit,
            pause=lambda: gevent.sleep(0),
        )
        self.attempt_updates = box.rows(
            "attempts", "campaign attempt updates", write_attempt_updates
        )
        self.fact_rows = box.rows("facts", "statistics facts", write_facts, PERSIST_ROWS)
        self.agent_changes = box.rows(
            "agent_changes",
            "agent state changes",
            partial(write_agent_changes, name),
            PERSIST_ROWS,
        )
        self.agent_sessions = box.rows(
            "agent_sessions", "agent sessions", partial(write_agent_sessions, name)
        )
        self.callback_outcomes = box.rows(
            "callback_outcomes",
            "call-back outcomes",
            lambda rows: save_callback_outcomes(rows, datetime.now(tz=UTC)),
        )
        self.recording_rows = box.rows("recordings", "recordings", write_recordings)
        self.system_events = box.rows("system_events", "system events", write_system_events)
        self.status_row = box.latest(
            "switch status", lambda status: set_switch_status(name, *status)
        )
        self.cdrs = box.keyed(
            "calls", "calls (CDRs)", self._write_cdrs, key=lambda rec: (rec.switch, rec.call_uuid)
        )

    def _wire_features(self) -> None:
        """Each feature's contract, in the order their hooks are asked (see feature.py)."""
        timeout, post = self.config.command_timeout, self.inbox.put
        for contract in (
            consults_contract.contract(self.consults, self.acd),
            callbacks_contract.contract(self.booked, self.acd, post, timeout),
            campaigns_contract.contract(self.campaigns, post, timeout),
            acd_contract.contract(self.acd, post, timeout, self.features.takes_request),
            calls_contract.contract(self.name, self.call_commands, self.agent_calls, self._api),
            recording_contract.contract(
                self.recorder, self.taps, self.acd, self.calls.call_of_leg, self.views.changed
            ),
            supervision_contract.contract(self.monitoring, self.live),
            registrations_contract.contract(self.name, self.acd, self.views.changed, self.outbox),
            voicemail_contract.contract(self.name, self._api),
            internal_calls.contract(self.acd, self.model, post, timeout, self.views.changed),
        ):
            self.features.add(contract)
            self.dispatcher.register(contract.handles)
        self._agent_actions = self.features.agent_actions()

    def _register_core(self) -> None:
        """What is not one feature's: the live model, the switch's status, job replies."""
        on = self.dispatcher.on
        on(ContactArrived, self.reactions.contact_arrived)  # after the ACD queued it
        on(ev.JobDone, lambda job: self.features.job_done(job.job_uuid, job.result))
        on(ResyncReady, self.calls.resync)
        on(TransferStarted, self.contacts.transfer_started)
        on(TransferFailed, self.contacts.transfer_failed)
        on(ev.SwitchConnectionChanged, self.switch_status.connection_changed)
        on(ev.GatewayStateChanged, self.switch_status.gateway_changed)
        on(ev.LegAnswered, self.calls.answered)
        on(ev.LegHungUp, self.calls.hung_up)
        for kind in typing.get_args(ev.DomainEvent):
            if not self.dispatcher.handlers_for(kind):
                on(kind, self.calls.apply)

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        sw = self.config.switch
        ensure_switch(self.name, sw.host, sw.port)
        self.outbox.flush()  # a dead daemon's spill first: the state loaded below has it
        self.model.seed(self.store.load_live(self.name))
        policies, refused = load_policies()
        for queue, why in refused.items():
            log.error("icm %s: queue %s refused: %s", self.name, queue, why)
        self.acd.configure(policies, load_agents())
        self.acd.restore(load_agent_sessions(self.name))  # signed-in agents stay signed in
        contacts, changes = seed_day_figures(self.day, self.name, time.time())
        self.live.limits = load_alarm_limits()
        self.recorder.policies, self.recorder.orders = load_recording_rules()
        self.dialling_rules = system_rules()
        self.acd.gateway = load_gateway()
        self.recorder.restore(load_active_recordings(self.name))  # what the switch still writes
        self.system_events.put(
            system_event(self.name, SystemEvent.Kind.ICM_STARTED, time.time(), "icm started")
        )
        close_old_connections()
        log.info(
            "icm %s: %d calls live from the database before resync; today so far: %d "
            "queue contacts, %d agent state changes",
            self.name,
            len(self.model),
            contacts,
            changes,
        )
        self.publisher.reset(self.name)
        config = self.config
        self._persister = gevent.spawn(self._persist_loop)
        self._greenlets.append(self._persister)
        for target in (
            self.driver.run,
            self._consume,
            self.publishing.run,
            self.commands.serve_forever,
            self.outbound.listen,
            partial(loops.acd_timers, self.acd, self.inbox.put),
            partial(
                loops.reconcile,
                self.name,
                self.driver,
                self.acd,
                self.features,
                self.inbox.put,
                config.reconcile_interval,
                config.reconcile_grace,
            ),
            self.wallboard.run,
            self.campaigns.run_pacer,
        ):
            self._greenlets.append(gevent.spawn(target))

    def stop(self) -> None:
        """Stop taking input, apply what was received, then persist everything (`wait`
        returns once this is done)."""
        self._stopping = True
        self.commands.stop()
        self.driver.stop()
        self.outbound.stop()
        while not self.inbox.empty():
            self.handle(self.inbox.get())
        # the persister is never killed inside a write: that lost the batch it held, or
        # (killed inside its transaction) logged "CDR write failed (can't change
        # 'autocommit' now …)", swallowed the kill and made this stop time out
        self._persist_stop.set()
        if self._persister is not None:
            self._persister.join(timeout=30)
            if not self._persister.dead:
                log.warning("icm %s: a database write did not end in 30 s; stopping", self.name)
        gevent.killall(self._greenlets, timeout=5)
        now = datetime.now(tz=UTC)
        self.publisher.publish_status(self.name, False, now.isoformat(), "icm stopped")
        self.status_row.put((False, now))
        self.system_events.put(
            system_event(self.name, SystemEvent.Kind.ICM_STOPPED, now.timestamp(), "icm stopped")
        )
        self._flush()
        self._stopped.set()

    def wait(self) -> None:
        gevent.joinall(self._greenlets, raise_error=False)
        if self._stopping:  # killall ended the greenlets: let stop() publish and persist
            self._stopped.wait(timeout=30)

    # --- the single writer of live state -------------------------------------------------
    def _consume(self) -> None:
        while True:
            item = self.inbox.get()
            try:
                self.handle(item)
            except Exception:
                log.exception("icm %s: failed to apply %r", self.name, loops.describe(item))

    def handle(self, item: object) -> None:
        """Apply one frame / marker / domain event (the switch's frames decoded first)."""
        if isinstance(item, dict):  # a frame from the switch: its receive time for the ACD
            self.acd.trigger_time = item.get("_rx")
            item = self.decode(self.name, item)
            if item is None:
                return
        elif isinstance(item, ContactArrived):
            self.acd.trigger_time = item.posted
        else:
            self.acd.trigger_time = None
        self.dispatcher.dispatch(item)

    def _call_changed(self, rec: Any) -> None:
        self.publishing.call_changed(rec)
        self.cdrs.put(rec)

    def _resynced(self, legs: list[str], at: float) -> None:
        """A recording whose leg went while icm was away: its RECORD_STOP is lost."""
        for agent in self.recorder.resynced(legs, at):
            self.views.changed(agent)

    def _number_refusal(self, number: str) -> str:
        """Why the company's dialling rules refuse `number` ("": allowed)."""
        return refusal(self.dialling_rules, number)

    def _set_dialling_rules(self, rules: DiallingRules, gateway: str | None) -> None:
        self.dialling_rules = rules
        self.acd.gateway = gateway

    def _agent_call(self, args: dict[str, Any]) -> dict[str, Any]:
        """An agent's own call: each action to the feature that serves it (unknown actions
        to agent call control, which names the valid ones)."""
        action = str(args.get("action", ""))
        agent = str(args.get("agent", ""))
        transfer = action in ("transfer", "consult_complete")  # the call leaves the agent
        if transfer:  # before the switch is asked: it comes before the agent's leg goes
            kind, to = args.get("kind", ""), args.get("target", "")
            self.inbox.put(TransferStarted(agent, f"{kind}:{to}" if to else ""))
        try:
            result = self._agent_actions.get(action, self.agent_calls.run)(args)
        except Exception:
            if transfer:
                self.inbox.put(TransferFailed(agent))
            raise
        if transfer:
            self.facts.transferred(agent)
        return result

    def _held(self, agent: str, held: bool, at: float) -> None:
        self.facts.held(agent, held, at)
        self.contacts.held(agent, held, at)

    # --- output batches ------------------------------------------------------------------
    def _snapshot_fact(self) -> None:
        """Every `snapshot_seconds`: the switch, calls up, queues and agents per state."""
        now = time.time()
        if not self.config.snapshot_seconds or now < self._next_snapshot:
            return
        self._next_snapshot = now + self.config.snapshot_seconds
        agents: dict[str, int] = {}
        for agent in self.acd.agents():
            if agent.state is not AgentState.LOGGED_OUT:
                agents[str(agent.state)] = agents.get(str(agent.state), 0) + 1
        queues = {
            q: {"waiting": int(f["waiting"]), "longest": f["longest_wait"]}
            for q, f in self.figures.all_queues().items()
        }
        snapshot = {
            "switch": self.name,
            "at": now,
            "connected": self.driver.connected.is_set(),
            "calls_up": len(self.model.calls(self.name)),
            "queues": queues,
            "agents": agents,
        }
        self.fact_rows.put(("snapshot", snapshot))

    def _persist_loop(self) -> None:
        loops.persist(self._persist_stop, self.config.persist_interval, self._flush, self._spill)

    def _spill(self) -> None:
        self.fact_rows.extend(self.facts.take())
        self.outbox.spill_pending()

    def _flush(self) -> bool:
        self.fact_rows.extend(self.facts.take())
        self._snapshot_fact()
        return self.outbox.flush()

    def _write_cdrs(self, records: list[Any]) -> None:
        for start in range(0, len(records), PERSIST_CHUNK):
            self.store.write(records[start : start + PERSIST_CHUNK])
            gevent.sleep(0)  # let dispatch run between chunks

    # --- switch commands for the features --------------------------------------------------
    def _bgapi(self, command: cmd.SwitchCommand) -> str:
        """Start one bgapi job (its Job-UUID reply text); a refused argument is a CommandError."""
        try:
            return self.driver.bgapi(command)
        except CommandRefused as exc:
            raise CommandError(str(exc)) from exc

    def _api(self, command: cmd.SwitchCommand) -> str:
        """Run one api command; a -ERR reply or a refused argument is a CommandError."""
        try:
            reply = self.driver.api(command).strip()
        except CommandRefused as exc:
            raise CommandError(str(exc)) from exc
        except SwitchNotConnected as exc:
            raise CommandError(f"switch {self.name} is not connected") from exc
        if reply.startswith("-"):
            raise CommandError(reply.lstrip("-").strip())
        return reply
