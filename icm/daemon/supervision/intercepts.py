"""Standing intercepts (SV-9) in icm: every call an intercepted agent connects to while its
intercept is in force rings the listener's phone, which listens to it (the supervisors'
silent monitor, `Monitoring.run`: FreeSWITCH's eavesdrop on the agent's leg); when the
intercept ends (its time, or cancelled) the listening legs are hung up.

The intercepts are `supervision.StandingIntercept` rows: read off the consumer (a command
greenlet on the web's `intercepts_reload`, or a greenlet icm starts at its first call) and
applied by the consumer (`InterceptsLoaded`). The consumer follows every leg's answer and
hang-up; originates and hang-ups run in their own greenlets (the consumer never waits)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent

from icm.bus.commands import CommandError
from icm.daemon.supervision.monitoring import Monitoring
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.intercepts import Intercept, InterceptBook

log = logging.getLogger(__name__)
RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class InterceptsLoaded:
    intercepts: tuple[Intercept, ...]


@dataclass(frozen=True)
class InterceptsDue:
    """An intercept's end has come (a timer)."""


@dataclass(frozen=True)
class ListenerPlaced:
    intercept: int
    leg: str


class Intercepts:
    def __init__(
        self,
        monitoring: Monitoring,
        load: Callable[[], list[Intercept]],
        clock: Callable[[], float] = time.time,
        done_loading: Callable[[], None] = lambda: None,
    ) -> None:
        self.monitoring = monitoring
        self.post = monitoring.post
        self.load = load
        self.clock = clock
        self.done_loading = done_loading  # closes a loading greenlet's database connection
        self.book = InterceptBook()
        self.loaded_once = False
        self._loading = False
        self._next_try = 0.0  # a failed load is tried again at a call after this (monotonic)
        self._timer: gevent.Greenlet | None = None

    # --- loading (command greenlet / own greenlet) ---------------------------------------
    def reload(self, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """`intercepts_reload`: read the intercepts in force; the consumer applies them."""
        intercepts = tuple(self.load())
        self.post(InterceptsLoaded(intercepts))
        return {"intercepts": len(intercepts)}

    def _load_in_background(self) -> None:
        try:
            self.reload()
        except Exception:  # a database outage: tried again at a call 30 s later
            log.exception("icm %s: standing intercepts not loaded", self.monitoring.switch)
            self._next_try = time.monotonic() + RETRY_SECONDS
            self._loading = False
        finally:
            self.done_loading()

    # --- the consumer --------------------------------------------------------------------
    def loaded(self, item: InterceptsLoaded) -> None:
        self.loaded_once, self._loading = True, False
        gone = self.book.replace(list(item.intercepts), self.clock())
        self._hang_up(gone)
        self._arm_timer()
        log.info("icm %s: %d standing intercepts", self.monitoring.switch, len(self.book))
        self._check_agents()  # an intercepted agent on a call now is listened to at once

    def due(self, item: InterceptsDue) -> None:
        self._hang_up(self.book.expire(self.clock()))
        self._arm_timer()

    def placed(self, item: ListenerPlaced) -> None:
        if not self.book.listening(item.intercept, item.leg):
            self._hang_up([item.leg])  # cancelled while it rang

    def on_leg(self, event: ev.LegAnswered | ev.LegHungUp) -> None:
        """Every leg's answer and hang-up (after the ACD and the live model saw it)."""
        if not self.loaded_once:
            if not self._loading and time.monotonic() >= self._next_try:
                self._loading = True
                gevent.spawn(self._load_in_background)
            return
        if isinstance(event, ev.LegHungUp):
            self.book.leg_gone(event.uuid)
        else:
            self._check_agents()

    def _check_agents(self) -> None:
        now = self.clock()
        for agent in self.book.agents(now):
            try:
                agent_leg, _ = self.monitoring.call_legs(agent)
            except CommandError:
                continue  # not on a call (or not connected to anyone yet)
            for intercept in self.book.due(agent, agent_leg, now):
                gevent.spawn(self._listen, intercept, agent_leg)

    # --- switch commands (own greenlets) -------------------------------------------------
    def _listen(self, intercept: Intercept, agent_leg: str) -> None:
        try:
            done = self.monitoring.run(
                {"agent": intercept.agent, "extension": intercept.extension, "mode": "listen"}
            )
        except CommandError as exc:
            log.warning(
                "agent %s: standing intercept %d could not listen on %s: %s",
                intercept.agent,
                intercept.id,
                agent_leg,
                exc,
            )
            return
        log.info(
            "agent %s: standing intercept %d listens from %s (leg %s)",
            intercept.agent,
            intercept.id,
            intercept.extension,
            done["leg"],
        )
        self.post(ListenerPlaced(intercept.id, str(done["leg"])))

    def _hang_up(self, legs: list[str]) -> None:
        for leg in legs:
            gevent.spawn(self._kill, leg)

    def _kill(self, leg: str) -> None:
        try:
            self.monitoring.bgapi(cmd.HangupLeg(leg, "NORMAL_CLEARING"))
            log.info("standing intercept over: listener leg %s hung up", leg)
        except CommandError as exc:
            log.warning("listener leg %s not hung up: %s", leg, exc)

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.kill(block=False)
            self._timer = None
        end = self.book.next_end()
        if end is not None:
            delay = max(0.0, end - self.clock())
            self._timer = gevent.spawn_later(delay, self.post, InterceptsDue())
