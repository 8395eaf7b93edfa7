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
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
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
from icm.agent_session_store import load_agent_sessions, write_agent_sessions
from icm.booked_callbacks import BookedCallbacks, CallbackRing
from icm.bus import keys
from icm.bus.commands import CommandError, CommandServer
from icm.bus.publisher import StatePublisher
from icm.call_commands import CallCommands
from icm.campaign_dialer import (
    AmdVerdict,
    CampaignDialer,
    FlowAnswers,
    GraceOver,
    PreviewAction,
    PreviewsDue,
    PreviewTimeout,
    RingFirst,
    WithdrawPreviews,
)
from icm.consults import ConsultRequest, Consults
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.agent_fsm import AgentStateChanged
from icm.domain.acd.day_figures import DayFigures
from icm.domain.acd.model import AgentState
from icm.domain.acd.outputs import ContactFinished, OfferContact
from icm.domain.acd.sessions import AgentSession, session_of
from icm.domain.alarms import alarm_json
from icm.domain.calls import RESYNC_HANGUP_CAUSE, CallRecord, LiveCalls
from icm.domain.facts import FactBuilder
from icm.ivr_session import make_ivr_app
from icm.live_figures import TICK as WALLBOARD_TICK
from icm.live_figures import LiveFigures
from icm.live_listen import LiveTaps
from icm.models import SystemEvent
from icm.monitoring import Monitoring
from icm.queue_figures import QueueFigures
from icm.recorder import ACTIONS as RECORDER_ACTIONS
from icm.recorder import Recorder
from icm.recording_store import load_active_recordings, load_recording_rules, write_recordings
from icm.store import (
    CdrStore,
    ensure_switch,
    save_callback_outcomes,
    set_switch_status,
    write_agent_changes,
)
from icm.switch.driver import ResyncReady, SwitchAddress, SwitchDriver
from icm.switch.outbound import OutboundServer
from icm.switch.render import UnsafeArgument
from icm.switch.translator import gateways_from_xmlstatus, translate
from icm.wallboard_store import (
    load_alarm_limits,
    local_day_start,
    seed_day_figures,
    system_event,
    write_system_events,
)
from outbound.attempt_store import write_attempt_updates
from outbound.dialling import system_rules
from outbound.domain.dialling_rules import DiallingRules, refusal
from stats.fact_writer import write_facts

log = logging.getLogger(__name__)
ALARM_SECONDS = 1.0  # alarms looked at every …
LIMITS_SECONDS = 30.0  # queue alarm limits reloaded every …
RECORDING_RULES_SECONDS = 5.0  # recording policies and supervisors' orders reloaded every …
PERSIST_CHUNK = 10  # calls per upsert statement: keeps CPU bursts (and dispatch p99) short
PERSIST_ROWS = 100  # facts or agent state changes per insert, for the same reason
ACD_COMMANDS = (
    "agent_login",
    "agent_logout",
    "agent_ready",
    "agent_not_ready",
    "end_wrap_up",
    "extend_wrap_up",
    "agent_reject",
    "agent_pick",
    "reload_queue",
    "reload_agent",
)


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
        self.publisher = StatePublisher(self.redis, self.model.calls, self._live_state)
        self.store = CdrStore()
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
        self.figures = QueueFigures(self.acd.acd)
        self.day = DayFigures(
            lambda ts: local_day_start(ts).timestamp(),
            lambda q: (
                self.acd.acd.policies[q].service_level_seconds
                if q in self.acd.acd.policies
                else 20.0
            ),
        )
        self.live = LiveFigures(self.figures, self.day, self._party)
        self.live.not_ready_limit = config.not_ready_alarm_seconds
        self._system_events: list[SystemEvent] = []
        self.facts = FactBuilder(self.name)
        self._facts: list[tuple[str, dict[str, Any]]] = []
        self._next_snapshot = 0.0
        self.recorder = Recorder(
            self.name,
            self.driver.bgapi_nowait,
            config.recordings_dir,
            config.time_zone,
            lambda row: self._finished_recordings.append(row),
        )
        self._gateway_since: dict[str, float] = {}
        self._finished_recordings: list[dict[str, Any]] = []
        self._stopping = False
        self._stopped = gevent.event.Event()
        self._persist_stop = gevent.event.Event()  # the persister ends between two writes
        self._persister: gevent.Greenlet | None = None
        self.call_commands = CallCommands(
            self.name, self.model, self.figures, self._api, self._bgapi
        )
        self.commands = CommandServer(
            self.redis,
            self.name,
            {
                **self.call_commands.handlers(),
                "agent_call": self._agent_call,
                "callback_ring": self.cmd_callback_ring,
                "monitor": lambda args: self.monitoring.run(args),
                "live_listen": lambda args: self.taps.start(args),
                "campaign_dial": lambda args: self.campaigns.dial(args),
                "campaign_floor": lambda args: self.campaigns.floor(args),
                "campaign_stop": lambda args: {
                    "dropped": self.campaigns.stop(str(args.get("campaign", "")))
                },
                "live_listen_stop": lambda args: self.taps.stop(args),
                "flush_directory": self._flush_directory,
                **{name: self._acd_command(name) for name in ACD_COMMANDS},
            },
            spawn=gevent.pool.Pool(50).spawn,
        )
        self.consults = Consults(self.name, self.acd, self.model, self._agent_view_changed)
        self.booked = BookedCallbacks(self.name, self.acd, self._callback_outcome)
        self.acd.in_consultation = lambda agent_id: self.consults.of(agent_id) is not None
        self.acd.intercept_leg_failed = lambda leg, cause: (
            self.consults.leg_failed(leg, cause) or self.booked.leg_failed(leg, cause)
        )
        self.agent_calls = AgentCallControl(
            self.name,
            self.acd,
            self.model,
            self._api,
            self._bgapi,
            self.consults,
            self.inbox.put,
            direct_ringing_leg=lambda agent: (
                self.consults.ringing_leg(agent) or self.booked.ringing_leg(agent)
            ),
        )
        self._callback_outcomes: list[tuple[str, str, str]] = []
        self.monitoring = Monitoring(
            self.name,
            self.agent_calls.call_legs,
            lambda leg: self.model.call_of_leg(self.name, leg),
            self._bgapi,
            self.inbox.put,
        )
        self.taps = LiveTaps(
            self.name,
            config.recordings_dir,
            self.agent_calls.call_legs,
            lambda leg: self.model.call_of_leg(self.name, leg),
            self._api,
        )
        self._attempt_updates: list[dict[str, Any]] = []
        self.campaigns = CampaignDialer(
            self.name,
            self.redis,
            self.driver.bgapi_nowait,
            self._api,
            self.acd,
            self.inbox.put,
            self._attempt_updates.append,
            f"{config.outbound_host}:{config.outbound_port}",
        )
        self.campaigns.ring_agent = self.booked.ring_campaign  # previews, call-backs
        self.campaigns.view_changed = self._agent_view_changed
        self.booked.campaigns = self.campaigns
        # the company's dialling rules for system calls (issue 18 item 4): loaded at start
        # and with the recording rules; call-backs and campaign numbers are checked on them
        self.dialling_rules = DiallingRules()
        self.acd.number_refusal = self.campaigns.number_refusal = self._number_refusal
        self._agent_changes: list[AgentStateChanged] = []
        self._agent_sessions: list[AgentSession] = []
        self._other_publications: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self.outbound = OutboundServer(
            config.outbound_host,
            config.outbound_port,
            application=make_ivr_app(
                self.name,
                self.inbox.put,
                self.figures.status,
                self.request_callback,
                self.figures.metric,
            ),
            max_connections=5000,  # IVR sessions at once (bench: 2,000 held)
            allowed=config.outbound_allowed,
        )
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
        self.acd.restore(load_agent_sessions(self.name))  # signed-in agents stay signed in
        contacts, changes = seed_day_figures(self.day, self.name, time.time())
        self.live.limits = load_alarm_limits()
        self.recorder.policies, self.recorder.orders = load_recording_rules()
        self.dialling_rules = system_rules()
        self.recorder.restore(load_active_recordings(self.name))  # what the switch still writes
        self._system_events.append(
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
        self._persister = gevent.spawn(self._persist_loop)
        self._greenlets.append(self._persister)
        for target in (
            self.driver.run,
            self._consume,
            self._publish_loop,
            self.commands.serve_forever,
            self.outbound.listen,
            self._acd_timers,
            self._reconcile_loop,
            self._wallboard_loop,
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
        self._pending_status = (False, now)
        self._system_events.append(
            system_event(self.name, SystemEvent.Kind.ICM_STOPPED, now.timestamp(), "icm stopped")
        )
        self._flush_persist()
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
            if isinstance(event, ev.GatewayStateChanged):
                self._gateway_state(event)
                return
            if isinstance(event, ev.RecordingStopped):
                if self.taps.stopped(event.path):
                    return
                rec = self.recorder.active.get(event.path)
                stopped = self.recorder.stopped(
                    event.uuid,
                    event.path,
                    event.at.timestamp(),
                    event.cause,
                    event.milliseconds,
                    headers=item,
                )
                if stopped and rec:
                    self._agent_view_changed(rec.agent)
                return
        elif isinstance(item, GraceOver):
            self.campaigns.grace_over(item.leg)
            return
        elif isinstance(item, AmdVerdict):
            self.campaigns.amd_verdict(item)
            return
        elif isinstance(item, FlowAnswers):
            self.campaigns.answers(item.leg, item.variables)
            return
        elif isinstance(item, PreviewsDue):
            self.campaigns.assign_previews()
            return
        elif isinstance(item, RingFirst):
            self.campaigns.ring_first(item.leg)
            return
        elif isinstance(item, PreviewAction):
            self.campaigns.preview_action(item)
            return
        elif isinstance(item, PreviewTimeout):
            self.campaigns.preview_timeout(item)
            return
        elif isinstance(item, WithdrawPreviews):
            self.campaigns.withdraw_previews(item.campaign)
            return
        elif isinstance(item, ContactArrived):
            self.acd.contact_arrived(item.contact)
            call = self.model.call_of_leg(self.name, item.contact.contact_id)
            self.facts.queue_event(
                "entered",
                item.contact.contact_id,
                item.contact.queue,
                item.contact.enqueued_at,
                call.call_uuid if call is not None else "",
            )
            return
        elif isinstance(item, AcdRequest):
            if not (item.name == "agent_reject" and self._reject_consult(item)):
                self.acd.request(item)
            return
        elif isinstance(item, ConsultRequest):
            self.consults.request(item)
            return
        elif isinstance(item, CallbackRing):
            self.booked.request(item)
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
            # a recording whose leg went while icm was away: its RECORD_STOP is lost
            legs = (leg.uuid for leg in event.legs)
            for agent in self.recorder.resynced(legs, event.at.timestamp()):
                self._agent_view_changed(agent)
            ended = [
                ev.LegHungUp(self.name, leg.uuid, leg.hangup_cause, event.at)
                for rec in self._apply(event)
                for leg in rec.legs
                if leg.hangup_cause == RESYNC_HANGUP_CAUSE and leg.hungup_at == event.at
            ]
            for gone in ended:  # hung up while icm was away: end agents' calls now
                if not self._direct_event(gone):
                    self.acd.on_event(gone)
                self.campaigns.hung_up(gone.uuid, gone.cause, gone.at.timestamp())
            if self.acd.restoring:  # the first resync after a restart: agents' calls
                self.acd.link_restored(self._live_leg)
            return
        elif isinstance(item, ev.SwitchConnectionChanged):
            self._switch_status(item)
            return
        elif isinstance(item, ev.GatewayStateChanged):
            self._gateway_state(item)
            return
        else:
            event = item  # type: ignore[assignment]
        if isinstance(event, ev.LegHungUp) and not self._direct_event(event):
            self.acd.on_event(event)  # first: the call is still live to record the outcome
        self._apply(event)  # type: ignore[arg-type]
        if isinstance(event, ev.LegAnswered) and not self._direct_event(event):
            self.acd.on_event(event)
        if isinstance(event, ev.LegAnswered):
            self.campaigns.answered(event.uuid, event.at.timestamp())
        elif isinstance(event, ev.LegHungUp):
            self.campaigns.hung_up(event.uuid, event.cause, event.at.timestamp())

    def _direct_event(self, event: ev.LegAnswered | ev.LegHungUp) -> bool:
        """Consultations and booked call-backs follow their own legs first (True: only
        theirs, the ACD must not see it)."""
        return self.consults.on_event(event) or self.booked.on_event(event)

    def _apply(self, event: ev.DomainEvent) -> list[CallRecord]:
        if isinstance(event, ev.LegHeld | ev.LegUnheld):
            agent = self._agent_of_leg(event.uuid)
            if agent:
                self.facts.held(agent, isinstance(event, ev.LegHeld), event.at.timestamp())
        changed = self.model.apply(event)
        for rec in changed:
            key = (rec.switch, rec.call_uuid)
            self._to_publish[key] = rec
            self._to_persist[key] = rec
        return changed

    def _live_leg(self, leg: str, extension: str) -> tuple[str, str] | None:
        """(leg, its partner) when `leg` — or else a leg of the phone of `extension` — is up
        on the switch as icm now knows it (after a resync)."""
        mine = _phone_leg_pattern(extension) if extension else None
        for call in self.model.calls(self.name):
            live = [lg for lg in call.legs if lg.hungup_at is None]
            for candidate in live:
                if candidate.uuid == leg or (mine and mine.match(candidate.channel_name)):
                    others = [lg.uuid for lg in live if lg.uuid != candidate.uuid]
                    partner = candidate.other_leg_uuid or (others[0] if others else "")
                    return candidate.uuid, partner
        return None

    def _agent_of_leg(self, leg: str) -> str:
        """The agent whose call this leg belongs to (its own leg or its customer's)."""
        call = self.model.call_of_leg(self.name, leg)
        for agent, agent_leg in self.acd.agent_leg.items():
            if agent_leg == leg:
                return agent
            theirs = self.model.call_of_leg(self.name, agent_leg) if call is not None else None
            if theirs is not None and theirs.call_uuid == call.call_uuid:
                return agent
        return ""

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
            grace = self.config.reconcile_grace
            for agent_id, leg in self.acd.legs_to_check(older_than=grace):
                try:
                    exists = self._leg_exists(leg)
                except NotConnectedError:
                    break
                if exists == "false":
                    self.inbox.put(RepairLeg(agent_id, leg))
            # consultations and call-backs ringing an agent: a lost hang-up ends them here
            direct = self.consults.legs_to_check(grace) + self.booked.legs_to_check(grace)
            for leg in direct:
                try:
                    exists = self._leg_exists(leg)
                except NotConnectedError:
                    break
                if exists == "false":
                    log.warning("icm %s: leg %s is gone from the switch; ending it", self.name, leg)
                    self.inbox.put(
                        ev.LegHungUp(self.name, leg, "ICM_RECONCILED", datetime.now(tz=UTC))
                    )

    def _wallboard_loop(self) -> None:
        """The queues' tiles when they change (in Redis and as a `queue.stats` event with the
        changed ones: wallboards, desktops' skill groups, AG-12), the alarms every second,
        the queues' alarm limits every LIMITS_SECONDS."""
        last_alarms = last_limits = last_rules = time.monotonic()
        while True:
            gevent.sleep(WALLBOARD_TICK)
            try:
                tiles = self.live.tiles()
                changed = self.live.changed_tiles(tiles)
                if changed:
                    self._publish_later(
                        self.publisher.publish_keyed,
                        self.name,
                        keys.queues_key(self.name),
                        tiles,
                        "queue.stats",
                        {"queues": changed},
                    )
                if time.monotonic() - last_alarms >= ALARM_SECONDS:
                    last_alarms = time.monotonic()
                    self._alarms(tiles)
                if time.monotonic() - last_limits >= LIMITS_SECONDS:
                    last_limits = time.monotonic()
                    self.live.limits = _with_fresh_connection(load_alarm_limits)()
                if time.monotonic() - last_rules >= RECORDING_RULES_SECONDS:
                    last_rules = time.monotonic()
                    rules = _with_fresh_connection(load_recording_rules)()
                    self.recorder.policies, self.recorder.orders = rules
                    self.dialling_rules = _with_fresh_connection(system_rules)()
            except (redis.RedisError, KeyError, DatabaseError) as exc:
                log.warning("icm %s: wallboard figures not published: %s", self.name, exc)

    def _alarms(self, tiles: dict[str, dict[str, Any]]) -> None:
        for change in self.live.alarm_changes(tiles, self.driver.connected.is_set()):
            kinds = SystemEvent.Kind
            kind = kinds.ALARM_RAISED if change.raised else kinds.ALARM_CLEARED
            self._system_events.append(system_event(self.name, kind, change.at, change=change))
            level = logging.WARNING if change.raised else logging.INFO
            log.log(
                level,
                "icm %s: alarm %s (%s): %s",
                self.name,
                kind.label.lower(),
                change.alarm.key,
                change.alarm.text,
            )
            self._publish_later(
                self.publisher.publish_keyed,
                self.name,
                keys.alarms_key(self.name),
                self.live.alarms.as_json(),
                "alarm",
                {
                    **alarm_json(change.alarm, change.since),
                    "raised": change.raised,
                    "at": change.at,
                },
            )

    def _party(self, agent_id: str) -> dict[str, str] | None:
        """Who the agent is connected to (or rung for): the other end's number and name."""
        leg = self.acd.agent_leg.get(agent_id, "")
        call = self.model.call_of_leg(self.name, leg) if leg else None
        if call is None:
            return None
        if call.ani and call.ani == self.acd.extensions.get(agent_id):
            return {"number": call.dnis, "name": "", "call": call.call_uuid}
        return {"number": call.ani, "name": call.caller_name, "call": call.call_uuid}

    def _number_refusal(self, number: str) -> str:
        """Why the company's dialling rules refuse `number` ("": allowed)."""
        return refusal(self.dialling_rules, number)

    def request_callback(self, contact_id: str) -> bool:
        """From an IVR greenlet: turn the waiting contact into a call-back (True if done)."""
        request = CallbackRequested(contact_id)
        self.inbox.put(request)
        return bool(request.result.get(timeout=5))

    def _acd_command(self, name: str):
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
        self._agent_sessions.append(
            session_of(self.acd.acd, change.agent_id, self.acd.leg_of(change.agent_id))
        )
        queue = ""
        if change.to_state is AgentState.ON_CALL:
            queue = self.acd.acd.contact_queue_of_agent.get(change.agent_id, "")
        self.day.agent_changed(change.agent_id, str(change.to_state), change.at, queue)
        self.facts.agent_changed(
            change.agent_id,
            str(change.to_state),
            change.at,
            change.reason,
            queue,
            change.contact_id,
        )
        if change.to_state is AgentState.ON_CALL and change.from_state is not AgentState.ON_CALL:
            leg = self.acd.agent_leg.get(change.agent_id, "")
            call = self.model.call_of_leg(self.name, leg) if leg else None
            self.recorder.agent_connected(change.agent_id, leg, call, queue)
        self._publish_agent(change.agent_id, str(change.to_state), change.reason, change.at)
        if change.to_state is AgentState.LOGGED_OUT:
            self.campaigns.agent_signed_out(change.agent_id)
        if change.to_state is AgentState.READY and self.campaigns.previews_waiting():
            self.inbox.put(PreviewsDue())

    def _agent_view_changed(self, agent_id: str) -> None:
        """A consultation the agent takes part in moved on: republish its desktop view."""
        agent = self.acd.acd.agents.get(agent_id)
        if agent is not None:
            self._publish_agent(agent_id, str(agent.state), agent.reason, agent.state_since)

    def _publish_agent(self, agent_id: str, state: str, reason: str, since: float) -> None:
        self._publish_later(
            self.publisher.publish_agent,
            self.name,
            agent_id,
            self._agent_state(agent_id, state, reason, since),
        )

    def _agent_state(self, agent_id: str, state: str, reason: str, since: float) -> dict[str, Any]:
        """What desktops and wallboards keep of an agent (`ipbx:<switch>:agents`)."""
        agent = self.acd.acd.agents.get(agent_id)
        contact = agent.contact_id if agent else ""
        return {
            "agent": agent_id,
            "state": state,
            "reason": reason,
            "since": since,
            "contact": contact,
            "offer": self._offer_card(agent_id, contact) if contact else None,
            "consult": self.consults.view(agent_id),
            "recording": self.recorder.state_of(self.acd.agent_leg.get(agent_id, "")),
            **self.live.agent_view(agent_id),
        }

    def _live_state(self, switch: str) -> dict[str, object]:
        """Everything but the calls a snapshot holds, for a reset (Redis lost it)."""
        agents = {
            a.agent_id: json.dumps(
                self._agent_state(a.agent_id, str(a.state), a.reason, a.state_since)
            )
            for a in self.acd.acd.agents.values()
        }
        gateways = json.dumps(self._gateways_json()) if self.live.gateways else None
        return {
            "agents": agents,
            "queues": json.dumps(self.live.tiles()),
            "alarms": json.dumps(self.live.alarms.as_json()),
            "gateways": gateways,
        }

    def _gateways_json(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "state": state,
                "ping": ping,
                "healthy": ev.gateway_healthy(state, ping),
                "since": self._gateway_since.get(name),
            }
            for name, (state, ping) in self.live.gateways.items()
        }

    def _offer_card(self, agent_id: str, contact_id: str) -> dict[str, Any] | None:
        """What the desktop shows of the agent's contact (kept in the agent's snapshot so a
        page that reloads while the phone rings still shows the screen pop)."""
        direct = (
            self.consults.offer_card(agent_id)
            or self.booked.offer_card(agent_id)
            or self.campaigns.offer_card(agent_id)
        )
        if direct is not None:
            return direct
        contact = self.acd.acd.contacts.get(contact_id)
        if contact is None:
            return None
        return {
            "contact": contact_id,
            "queue": contact.queue,
            "ani": contact.ani,
            "customer": contact.customer_id,
            "media": str(contact.media),
            "attached": contact.attached,
            "priority": contact.priority,
        }

    def _reject_consult(self, request: AcdRequest) -> bool:
        """A consulted agent rejects the consultation ringing its phone (AG-5)."""
        agent_id = str(request.args.get("agent", ""))
        leg = self.consults.ringing_leg(agent_id)
        if not leg and self.booked.ringing_leg(agent_id):
            if request.args.get("not_ready"):
                agent = self.acd.acd.agents[agent_id]
                agent.prior_state, agent.prior_reason = AgentState.NOT_READY, "rejected"
            self.booked.reject(agent_id)
            request.result.set({"agent": agent_id, "state": "reserved"})
            return True
        if not leg:
            return False
        consult = self.consults.by_target[agent_id]
        consult.why = "reject_not_ready" if request.args.get("not_ready") else "reject"
        if request.args.get("not_ready"):
            agent = self.acd.acd.agents[agent_id]
            agent.prior_state, agent.prior_reason = AgentState.NOT_READY, "rejected"
        self.acd.send(cmd.HangupLeg(leg, "CALL_REJECTED"))
        request.result.set({"agent": agent_id, "state": "reserved"})
        return True

    def cmd_callback_ring(self, args: dict[str, Any]) -> dict[str, Any]:
        """Celery: a booked call-back is due (see icm.booked_callbacks)."""
        self.booked.check(args)  # refuse a malformed request before it is queued
        # if it times out it may still run: Celery's retry then gets "duplicate"
        return self._in_consumer(CallbackRing(dict(args)))

    def _in_consumer(self, request: CallbackRing | PreviewAction) -> dict[str, Any]:
        """Run a command's request in the consumer greenlet (the single writer); its result."""
        self.inbox.put(request)
        try:
            result: dict[str, Any] = request.result.get(timeout=self.config.command_timeout)
        except gevent.Timeout as exc:
            raise CommandError("icm is busy: try again in a moment") from exc
        return result

    def _callback_outcome(self, callback: str, outcome: str, detail: str) -> None:
        self._callback_outcomes.append((callback, outcome, detail))

    def _leg_channel(self, uuid: str) -> str:
        call = self.model.call_of_leg(self.name, uuid)
        leg = next((leg for leg in call.legs if leg.uuid == uuid), None) if call else None
        return leg.channel_name if leg else ""

    def _screen_pop(self, offer: OfferContact) -> None:
        self.campaigns.offered(offer.contact_id)
        now = time.time()
        for agent in offer.agent_ids:
            self.facts.queue_event("offered", offer.contact_id, offer.queue, now, agent=agent)
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
        now = time.time()
        if str(done.outcome) == "answered":
            self.campaigns.agent_took(done.contact_id, done.agent_id)
        self.day.contact_finished(done.queue, str(done.outcome), done.waited, now)
        call = self.model.call_of_leg(self.name, done.contact_id)
        contact = self.acd.acd.contacts.get(done.contact_id)
        skills = sorted(contact.required_skills) if contact is not None else []
        self.facts.contact_finished(
            done.contact_id,
            done.queue,
            str(done.outcome),
            done.waited,
            now,
            done.agent_id,
            call.call_uuid if call is not None else "",
            skills[0] if skills else "",
            done.media,
            f"{done.target_kind}:{done.target}" if done.target_kind else "",
            self.campaigns.campaign_of(done.contact_id),
        )
        if call is None and done.agent_id:  # a call-back: the caller's first call is over
            call = self.model.call_of_leg(self.name, self.acd.agent_leg.get(done.agent_id, ""))
        if call is None:
            return
        outcome = {
            "outcome": str(done.outcome),
            "waited": round(done.waited, 3),
            "media": done.media,
        }
        if done.target_kind:
            outcome["overflow"] = f"{done.target_kind}:{done.target}"
        self._apply(
            ev.CallAssigned(
                self.name,
                call.call_uuid,
                done.agent_id,
                {**routing, **outcome},
                datetime.now(tz=UTC),
            )
        )

    def _agent_call(self, args: dict[str, Any]) -> dict[str, Any]:
        """An agent's own call: the recording actions here, the rest in agent_calls."""
        action = str(args.get("action", ""))
        if action in ("preview_call", "preview_skip"):
            return self._in_consumer(
                PreviewAction(
                    str(args.get("agent", "")),
                    action.removeprefix("preview_"),
                    bool(args.get("not_ready")),
                )
            )
        if action not in RECORDER_ACTIONS:
            result = self.agent_calls.run(args)
            if action in ("transfer", "consult_complete"):  # the call leaves the agent
                self.facts.transferred(str(args.get("agent", "")))
            return result
        agent = str(args.get("agent", ""))
        if agent not in self.acd.acd.agents:
            raise CommandError(f"unknown agent {agent!r}")
        leg = self.acd.agent_leg.get(agent, "")
        call = self.model.call_of_leg(self.name, leg) if leg else None
        queue = self.acd.acd.contact_queue_of_agent.get(agent, "")
        result = self.recorder.command(action, agent, leg, call, queue, args)
        self._agent_view_changed(agent)  # the desktop shows the recording's state
        return result

    def _flush_directory(self, args: dict[str, Any]) -> dict[str, Any]:
        """An extension changed: the switch forgets its cached directory entry (users are
        served `cacheable`, so offers need no fetch), and fetches it again when next used."""
        user, domain = str(args.get("user", "")), str(args.get("domain", ""))
        reply = self._api(cmd.FlushDirectoryUser(user, domain))
        log.info("icm %s: directory entry %s@%s flushed (%s)", self.name, user, domain, reply)
        return {"reply": reply}

    def _gateway_state(self, item: ev.GatewayStateChanged) -> None:
        """A trunk's state (the wallboard's gateway badges; its alarm comes with the next
        look at the alarms)."""
        before = self.live.gateways.get(item.gateway)
        self.live.gateways[item.gateway] = (item.state, item.ping_status)
        if before == (item.state, item.ping_status):
            return
        log.log(
            logging.INFO if item.healthy else logging.WARNING,
            "icm %s: gateway %s %s (ping %s) %s",
            self.name,
            item.gateway,
            item.state,
            item.ping_status,
            item.phrase,
        )
        self._gateway_since[item.gateway] = item.at.timestamp()
        full = self._gateways_json()
        self._publish_later(
            self.publisher.publish_keyed,
            self.name,
            keys.gateways_key(self.name),
            full,
            "gateway.state",
            {"gateway": item.gateway, **full[item.gateway]},
        )

    def _load_gateways(self) -> None:
        """After a (re)connect: every gateway's state from `sofia xmlstatus gateway` (events
        may have been missed while away)."""
        try:
            reply = self.driver.api(cmd.GatewayStatus())
        except Exception as exc:
            log.warning("icm %s: gateway states not read: %s", self.name, exc)
            return
        for item in gateways_from_xmlstatus(self.name, reply, datetime.now(tz=UTC)):
            self.inbox.put(item)

    def _switch_status(self, item: ev.SwitchConnectionChanged) -> None:
        if item.connected:
            gevent.spawn(self._load_gateways)
            gevent.spawn(self.campaigns.switch_connected)  # which AMD modules it has now
        kind = (
            SystemEvent.Kind.SWITCH_CONNECTED
            if item.connected
            else (SystemEvent.Kind.SWITCH_DISCONNECTED)
        )
        self._system_events.append(system_event(self.name, kind, item.at.timestamp(), item.detail))
        self.publisher.publish_status(self.name, item.connected, item.at.isoformat(), item.detail)
        self._pending_status = (item.connected, item.at)  # saved by the persister

    def _job_done(self, headers: dict[str, str]) -> None:
        result = (headers.get("_body") or "").strip()
        if self.campaigns.job_done(headers.get("Job-UUID", ""), result):
            return
        if self.acd.job_done(headers.get("Job-UUID", ""), result):
            return
        self.call_commands.job_done(headers.get("Job-UUID", ""), result)

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

    def _snapshot_fact(self) -> None:
        """Every `snapshot_seconds`: the switch, calls up, queues and agents per state."""
        now = time.time()
        if not self.config.snapshot_seconds or now < self._next_snapshot:
            return
        self._next_snapshot = now + self.config.snapshot_seconds
        agents: dict[str, int] = {}
        for agent in self.acd.acd.agents.values():
            if agent.state is not AgentState.LOGGED_OUT:
                agents[str(agent.state)] = agents.get(str(agent.state), 0) + 1
        queues = {
            q: {"waiting": int(f["waiting"]), "longest": f["longest_wait"]}
            for q, f in self.figures.all_queues().items()
        }
        self._facts.append(
            (
                "snapshot",
                {
                    "switch": self.name,
                    "at": now,
                    "connected": self.driver.connected.is_set(),
                    "calls_up": len(self.model.calls(self.name)),
                    "queues": queues,
                    "agents": agents,
                },
            )
        )

    def _persist_loop(self) -> None:
        backoff = self.config.persist_interval
        while not self._persist_stop.wait(backoff):
            backoff = (
                self.config.persist_interval if self._flush_persist() else min(backoff * 2, 10)
            )

    def _flush_persist(self) -> bool:
        if self._attempt_updates:
            updates, self._attempt_updates[:] = list(self._attempt_updates), []
            try:
                write_attempt_updates(updates)
            except DatabaseError as exc:
                log.warning(
                    "icm %s: %d campaign attempt updates not saved (%s); retrying",
                    self.name,
                    len(updates),
                    exc,
                )
                close_old_connections()
                self._attempt_updates[:0] = updates
                return False
        self._facts.extend(self.facts.take())
        self._snapshot_fact()
        if self._facts:
            facts, self._facts = self._facts, []
            try:
                _write_in_chunks(write_facts, facts)
            except DatabaseError as exc:
                log.warning(
                    "icm %s: %d statistics facts not saved (%s); retrying",
                    self.name,
                    len(facts),
                    exc,
                )
                close_old_connections()
                self._facts = facts + self._facts
                return False
        if self._agent_changes:
            changes, self._agent_changes = self._agent_changes, []
            try:
                _write_in_chunks(lambda rows: write_agent_changes(self.name, rows), changes)
            except DatabaseError as exc:
                log.warning("icm %s: agent state log not saved (%s); retrying", self.name, exc)
                close_old_connections()
                self._agent_changes = changes + self._agent_changes
                return False
        if self._agent_sessions:
            sessions, self._agent_sessions = self._agent_sessions, []
            try:
                write_agent_sessions(self.name, sessions)
            except DatabaseError as exc:
                log.warning("icm %s: agent sessions not saved (%s); retrying", self.name, exc)
                close_old_connections()
                self._agent_sessions = sessions + self._agent_sessions
                return False
        if self._callback_outcomes:
            outcomes, self._callback_outcomes = self._callback_outcomes, []
            try:
                save_callback_outcomes(outcomes, datetime.now(tz=UTC))
            except DatabaseError as exc:
                log.warning("icm %s: call-back outcomes not saved (%s); retrying", self.name, exc)
                close_old_connections()
                self._callback_outcomes = outcomes + self._callback_outcomes
                return False
        if self._finished_recordings:
            done, self._finished_recordings = self._finished_recordings, []
            try:
                write_recordings(done)
            except DatabaseError as exc:
                log.warning("icm %s: recordings not catalogued (%s); retrying", self.name, exc)
                close_old_connections()
                self._finished_recordings = done + self._finished_recordings
                return False
        if self._system_events:
            rows, self._system_events = self._system_events, []
            try:
                write_system_events(rows)
            except DatabaseError as exc:
                log.warning("icm %s: system events not saved (%s); retrying", self.name, exc)
                close_old_connections()
                self._system_events = rows + self._system_events
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
    def _leg_exists(self, leg: str) -> str:
        """ "true" or "false": is `leg` on the switch (a leg no switch could name is not)."""
        try:
            return self.driver.api(cmd.LegExists(leg)).strip()
        except UnsafeArgument:
            return "false"

    def _bgapi(self, command: cmd.SwitchCommand) -> str:
        """Start one bgapi job (its Job-UUID reply text); a refused argument is a CommandError."""
        try:
            return self.driver.bgapi(command)
        except UnsafeArgument as exc:
            raise CommandError(str(exc)) from exc

    def _api(self, command: cmd.SwitchCommand) -> str:
        """Run one api command; a -ERR reply or a refused argument is a CommandError."""
        try:
            reply = self.driver.api(command).strip()
        except UnsafeArgument as exc:
            raise CommandError(str(exc)) from exc
        except NotConnectedError as exc:
            raise CommandError(f"switch {self.name} is not connected") from exc
        if reply.startswith("-"):
            raise CommandError(reply.lstrip("-").strip())
        return reply


def _phone_leg_pattern(extension: str) -> re.Pattern[str]:
    """The channel names of the phone of `extension` (`user/<ext>`, `sofia/internal/<ext>@`)."""
    ext = re.escape(extension)
    return re.compile(rf"^(?:user/{ext}(?:@|$)|sofia/[^/]+/(?:sip:)?{ext}@)")


def _write_in_chunks(write: Callable[[list[Any]], object], rows: list[Any]) -> None:
    """Write `rows` PERSIST_ROWS at a time, letting dispatch run between two writes (a
    backlog written in one statement held the persister for a quarter of a second); on a
    database error `rows` keeps only those not written."""
    while rows:
        write(rows[:PERSIST_ROWS])
        del rows[:PERSIST_ROWS]
        if rows:
            gevent.sleep(0)


def _with_fresh_connection(func):
    """Run a look-up, then drop the consumer greenlet's connection if it broke meanwhile."""

    def run(*args):
        close_old_connections()
        return func(*args)

    return run


def _describe(item: object) -> str:
    if isinstance(item, dict):
        return f"{item.get('Event-Name')} {item.get('Unique-ID', '')}"
    return type(item).__name__
