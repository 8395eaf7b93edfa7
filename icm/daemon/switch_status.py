"""The switch's own state as the daemon follows it: the ESL connection and the SIP trunks.

A (re)connect reads every gateway's state again (events may have been missed) and lets the
features learn what the switch can do; every change is published (status badge, gateway
badges) and kept as a system event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import gevent

from icm.bus import keys
from icm.bus.events import GatewayChanged
from icm.bus.publisher import StatePublisher
from icm.daemon.agent_view import AgentViews
from icm.daemon.supervision.live_figures import LiveFigures
from icm.daemon.supervision.store import system_event
from icm.daemon.switch import SwitchDriver
from icm.domain import events as ev
from icm.models import SystemEvent

log = logging.getLogger(__name__)


class SwitchStatus:
    def __init__(
        self,
        switch: str,
        driver: SwitchDriver,
        live: LiveFigures,
        views: AgentViews,
        publisher: StatePublisher,
        publish_later: Callable[..., None],
        post: Callable[[object], None],
        system_events: Callable[[SystemEvent], None],
        save_status: Callable[[tuple[bool, datetime]], None],
        on_connected: Callable[[], None],
    ) -> None:
        self.switch = switch
        self.driver = driver
        self.live = live
        self.views = views
        self.publisher = publisher
        self.publish_later = publish_later
        self.post = post
        self.system_events = system_events
        self.save_status = save_status
        self.on_connected = on_connected  # run in its own greenlet after each (re)connect

    def connection_changed(self, item: ev.SwitchConnectionChanged) -> None:
        if item.connected:
            gevent.spawn(self.load_gateways)
            gevent.spawn(self.on_connected)
        kinds = SystemEvent.Kind
        kind = kinds.SWITCH_CONNECTED if item.connected else kinds.SWITCH_DISCONNECTED
        self.system_events(system_event(self.switch, kind, item.at.timestamp(), item.detail))
        self.publisher.publish_status(self.switch, item.connected, item.at.isoformat(), item.detail)
        self.save_status((item.connected, item.at))  # saved by the persister

    def gateway_changed(self, item: ev.GatewayStateChanged) -> None:
        """A trunk's state (the wallboard's gateway badges; its alarm comes with the next
        look at the alarms)."""
        before = self.live.gateways.get(item.gateway)
        self.live.gateways[item.gateway] = (item.state, item.ping_status)
        if before == (item.state, item.ping_status):
            return
        log.log(
            logging.INFO if item.healthy else logging.WARNING,
            "icm %s: gateway %s %s (ping %s) %s",
            self.switch,
            item.gateway,
            item.state,
            item.ping_status,
            item.phrase,
        )
        self.views.gateway_since[item.gateway] = item.at.timestamp()
        full = self.views.gateways_json()
        self.publish_later(
            self.publisher.publish_keyed,
            self.switch,
            keys.gateways_key(self.switch),
            full,
            GatewayChanged(gateway=item.gateway, **full[item.gateway]),
        )

    def load_gateways(self) -> None:
        """After a (re)connect: every gateway's state from the switch."""
        try:
            states = self.driver.gateway_states()
        except Exception as exc:  # a reconnect retries; nothing else depends on it
            log.warning("icm %s: gateway states not read: %s", self.switch, exc)
            return
        for item in states:
            self.post(item)
