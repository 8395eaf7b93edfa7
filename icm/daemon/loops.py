"""The daemon's periodic greenlets: the ACD's timers, the reconciler, the wallboard's figures.

None of them changes live state itself: each posts to the inbox (the consumer greenlet is the
single writer) or only reads and publishes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
import gevent.pool
import redis
from django.db import DatabaseError, close_old_connections, connections

from icm.acd_config import load_gateway
from icm.bus import keys
from icm.bus.events import AlarmChanged, QueueStats
from icm.bus.publisher import StatePublisher
from icm.daemon.acd.messages import AcdTick, RepairLeg
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.feature import Features
from icm.daemon.recording.recorder import Recorder
from icm.daemon.recording.store import load_recording_rules
from icm.daemon.supervision.live_figures import TICK as WALLBOARD_TICK
from icm.daemon.supervision.live_figures import LiveFigures
from icm.daemon.supervision.store import load_alarm_limits, system_event
from icm.daemon.switch import CommandRefused, SwitchDriver, SwitchNotConnected
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.alarms import alarm_json
from icm.models import SystemEvent
from outbound.dialling import system_rules
from outbound.domain.dialling_rules import DiallingRules

log = logging.getLogger(__name__)
ALARM_SECONDS = 1.0  # alarms looked at every …
LIMITS_SECONDS = 30.0  # queue alarm limits reloaded every …
RECORDING_RULES_SECONDS = 5.0  # recording policies and supervisors' orders reloaded every …


def with_fresh_connection(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a look-up, then drop the greenlet's connection if it broke meanwhile."""

    def run(*args: Any) -> Any:
        close_old_connections()
        return func(*args)

    return run


def pool_closing_connections(size: int) -> Callable[..., gevent.Greenlet]:
    """A pool's spawn whose greenlets close their database connections when done: Django's
    connections are greenlet-local under gevent, and a finished greenlet's connection stays
    open until the garbage collector finds it (under load, every PostgreSQL slot)."""
    pool = gevent.pool.Pool(size)

    def spawn(func: Callable[..., Any], *args: Any) -> gevent.Greenlet:
        def run() -> Any:
            try:
                return func(*args)
            finally:
                connections.close_all()

        return pool.spawn(run)

    return spawn


def acd_timers(acd: AcdRuntime, post: Callable[[object], None]) -> None:
    """Sleep until the engine's next deadline (or a change), then have it ticked."""
    while True:
        deadline = acd.next_deadline()
        timeout = None if deadline is None else max(0.0, deadline - time.time())
        acd.wake.clear()
        if not acd.wake.wait(timeout):
            post(AcdTick())
            gevent.sleep(0.001)


def leg_exists(driver: SwitchDriver, leg: str) -> str:
    """ "true" or "false": is `leg` on the switch (a leg no switch could name is not)."""
    try:
        return driver.api(cmd.LegExists(leg)).strip()
    except CommandRefused:
        return "false"


def reconcile(
    switch: str,
    driver: SwitchDriver,
    acd: AcdRuntime,
    features: Features,
    post: Callable[[object], None],
    interval: float,
    grace: float,
) -> None:
    """Every `interval` s, ask the switch about agents' legs that should exist; a leg that is
    gone means an event was lost: repair the agent (logged)."""
    while True:
        gevent.sleep(interval)
        if not driver.connected.is_set():
            continue
        for agent_id, leg in acd.legs_to_check(older_than=grace):
            try:
                exists = leg_exists(driver, leg)
            except SwitchNotConnected:
                break
            if exists == "false":
                post(RepairLeg(agent_id, leg))
        # consultations and call-backs ringing an agent: a lost hang-up ends them here
        for leg in features.legs_to_check(grace):
            try:
                exists = leg_exists(driver, leg)
            except SwitchNotConnected:
                break
            if exists == "false":
                log.warning("icm %s: leg %s is gone from the switch; ending it", switch, leg)
                post(ev.LegHungUp(switch, leg, "ICM_RECONCILED", datetime.now(tz=UTC)))


class WallboardLoop:
    """The queues' tiles when they change (in Redis and as a `queue.stats` event with the
    changed ones: wallboards, desktops' skill groups, AG-12), the alarms every second, the
    alarm limits, recording rules, dialling rules and the call-back trunk reloaded now and then."""

    def __init__(
        self,
        switch: str,
        live: LiveFigures,
        publisher: StatePublisher,
        publish_later: Callable[..., None],
        driver: SwitchDriver,
        recorder: Recorder,
        system_events: Callable[[SystemEvent], None],
        set_dialling_rules: Callable[[DiallingRules, str | None], None],
    ) -> None:
        self.switch = switch
        self.live = live
        self.publisher = publisher
        self.publish_later = publish_later
        self.driver = driver
        self.recorder = recorder
        self.system_events = system_events
        self.set_dialling_rules = set_dialling_rules

    def run(self) -> None:
        last_alarms = last_limits = last_rules = time.monotonic()
        while True:
            gevent.sleep(WALLBOARD_TICK)
            try:
                tiles = self.live.tiles()
                changed = self.live.changed_tiles(tiles)
                if changed:
                    self.publish_later(
                        self.publisher.publish_keyed,
                        self.switch,
                        keys.queues_key(self.switch),
                        tiles,
                        QueueStats(queues=changed),
                    )
                if time.monotonic() - last_alarms >= ALARM_SECONDS:
                    last_alarms = time.monotonic()
                    self.alarms(tiles)
                if time.monotonic() - last_limits >= LIMITS_SECONDS:
                    last_limits = time.monotonic()
                    self.live.limits = with_fresh_connection(load_alarm_limits)()
                if time.monotonic() - last_rules >= RECORDING_RULES_SECONDS:
                    last_rules = time.monotonic()
                    rules = with_fresh_connection(load_recording_rules)()
                    self.recorder.policies, self.recorder.orders = rules
                    self.set_dialling_rules(with_fresh_connection(system_rules)(), load_gateway())
            except (redis.RedisError, KeyError, DatabaseError) as exc:
                log.warning("icm %s: wallboard figures not published: %s", self.switch, exc)

    def alarms(self, tiles: dict[str, dict[str, Any]]) -> None:
        for change in self.live.alarm_changes(tiles, self.driver.connected.is_set()):
            kinds = SystemEvent.Kind
            kind = kinds.ALARM_RAISED if change.raised else kinds.ALARM_CLEARED
            self.system_events(system_event(self.switch, kind, change.at, change=change))
            level = logging.WARNING if change.raised else logging.INFO
            log.log(
                level,
                "icm %s: alarm %s (%s): %s",
                self.switch,
                kind.label.lower(),
                change.alarm.key,
                change.alarm.text,
            )
            self.publish_later(
                self.publisher.publish_keyed,
                self.switch,
                keys.alarms_key(self.switch),
                self.live.alarms.as_json(),
                AlarmChanged(
                    **alarm_json(change.alarm, change.since), raised=change.raised, at=change.at
                ),
            )


def describe(item: object) -> str:
    """An inbox item, for a log line: a switch frame's event and leg, else its type."""
    if isinstance(item, dict):
        return f"{item.get('Event-Name')} {item.get('Unique-ID', '')}"
    return type(item).__name__


def persist(
    stop: gevent.event.Event,
    interval: float,
    flush: Callable[[], bool],
    spill: Callable[[], None],
    longest_backoff: float = 10,
) -> None:
    """The persister: `flush` every `interval`; after a failure, retry with a growing back-off
    and meanwhile `spill` every beat, so what arrives during a database outage is on disk
    within one interval (a kill -9 then loses at most one interval's rows)."""
    backoff, retry_at = interval, 0.0
    while not stop.wait(interval):
        if time.monotonic() < retry_at:
            spill()
        elif flush():
            backoff, retry_at = interval, 0.0
        else:
            backoff = min(backoff * 2, longest_backoff)
            retry_at = time.monotonic() + backoff
