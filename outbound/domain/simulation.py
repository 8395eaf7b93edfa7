"""A campaign, simulated (issue 9): a deterministic discrete-event run of a contact list
dialed by N agents, driving the real retry rules, calling windows, pacer and dialing modes.

The world (CampaignModel): each attempt's outcome is drawn from a distribution, after a
uniformly drawn ring time for that outcome (for a machine: until the machine detector has
decided); a person's talk time is lognormal, the wrap-up fixed. An answered call takes a free
agent; with none free it waits up to the grace time (2 s) for one, else it is abandoned: it
hears a recorded message and ends. Agentless campaigns play the message to every answered
call. The dialer decides after every event (predictive.calls_to_place), takes due call-backs
and retries first, then fresh contacts in list order, skips a contact outside its calling
windows until they open, and lets the pacer hold calls back.

Occupancy is talk + wrap-up ÷ logged-in time (agents × duration); calls reaching an agent
after the end are not counted, busy time is cut at the end. Same seed, same run.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from outbound.domain.observations import RollingWindow
from outbound.domain.pacing import ConcurrencyCap, Pacer, TokenBucket
from outbound.domain.predictive import DialDecision, DialMode, DialSettings, Floor, calls_to_place
from outbound.domain.retry import Result, RetryAt, RetryPolicy, next_step
from outbound.domain.windows import CallingWindow, allowed, contact_zone, next_opening

DEFAULT_OUTCOMES: Mapping[Result, float] = MappingProxyType(
    {
        Result.ANSWERED: 0.35,
        Result.NO_ANSWER: 0.30,
        Result.BUSY: 0.15,
        Result.MACHINE: 0.12,
        Result.INVALID: 0.08,
    }
)
DEFAULT_RING: Mapping[Result, tuple[float, float]] = MappingProxyType(
    {
        Result.ANSWERED: (4.0, 20.0),
        Result.NO_ANSWER: (30.0, 30.0),  # the dialer's no-answer timeout
        Result.BUSY: (2.0, 6.0),
        Result.MACHINE: (8.0, 24.0),  # ringing, then the detector's 3–4 s
        Result.INVALID: (1.0, 3.0),
        Result.FAILED: (0.5, 2.0),
    }
)


@dataclass(frozen=True, slots=True)
class Contact:
    number: str
    zone: str | None = None  # IANA; None: the campaign's


@dataclass(frozen=True, slots=True)
class CampaignModel:
    outcomes: Mapping[Result, float] = field(default_factory=lambda: DEFAULT_OUTCOMES)
    ring: Mapping[Result, tuple[float, float]] = field(default_factory=lambda: DEFAULT_RING)
    talk_mean: float = 150.0
    talk_sigma: float = 0.6  # of the log
    wrap: float = 15.0
    message: float = 20.0  # the recorded message of abandoned (and agentless) calls


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    mode: DialMode
    agents: int = 20
    duration: float = 3600.0
    seed: int = 1
    settings: DialSettings = DialSettings()
    retry: RetryPolicy = RetryPolicy()
    calls_per_second: float | None = 10.0
    max_concurrent: int | None = None  # the campaign's cap on calls up at once
    gateway: str = "gw1"
    windows: tuple[CallingWindow, ...] | None = None  # None: no calling windows
    campaign_zone: str = "Europe/Paris"
    start: datetime = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris


@dataclass(frozen=True, slots=True)
class Attempt:
    at: float  # seconds from the start, when dialed
    number: str
    result: Result  # as it ended (answered, abandoned, busy, …)
    attempt: int  # 1 = the contact's first


@dataclass(frozen=True, slots=True)
class Report:
    mode: DialMode
    dialed: int
    answered: int  # by a person
    abandoned: int
    connected: int  # answered calls that reached an agent
    abandon_rate: float  # abandoned ÷ answered, 0..1
    occupancy: float  # talk + wrap-up ÷ logged-in time, 0..1
    connects_per_agent_hour: float
    dials_per_agent_hour: float
    attempts_per_contact: float  # of the contacts dialed at least once
    contacts_dialed: int
    contacts_done: int  # finished by the retry rules, or never inside their windows
    log: tuple[Attempt, ...]


@dataclass(slots=True)
class _Call:
    contact: int
    attempt: int
    dialed: float
    result: Result
    talk: float
    answered_at: float = 0.0


@dataclass(slots=True)
class _Counts:
    dialed: int = 0
    answered: int = 0
    abandoned: int = 0
    connected: int = 0
    busy_time: float = 0.0


@dataclass(order=True, slots=True)
class _Event:
    at: float
    seq: int
    act: Callable[[], None] = field(compare=False)


def simulate(
    contacts: Sequence[Contact], config: SimulationConfig, model: CampaignModel | None = None
) -> Report:
    if config.mode is DialMode.PREVIEW:
        raise ValueError("preview campaigns are dialed by agents: simulate them as progressive")
    return _Run(contacts, config, model or CampaignModel()).run()


class _Run:
    def __init__(
        self, contacts: Sequence[Contact], config: SimulationConfig, model: CampaignModel
    ) -> None:
        self.contacts, self.config, self.model = contacts, config, model
        self.outcomes = list(model.outcomes)
        self.weights = [model.outcomes[r] for r in self.outcomes]
        self.window = RollingWindow()
        cap = config.max_concurrent
        self.pacer = Pacer(
            bucket=TokenBucket(config.calls_per_second) if config.calls_per_second else None,
            cap=ConcurrencyCap(cap) if cap else None,
        )
        self.zones = [contact_zone(c.zone, config.campaign_zone) for c in contacts]
        self.events: list[_Event] = []
        self.seq = 0
        self.now = 0.0
        self.free = config.agents
        self.ringing = 0
        self.connected = 0  # agentless: calls hearing the message
        self.waiting: deque[_Call] = deque()  # answered, no agent yet
        self.fresh: deque[int] = deque(range(len(contacts)))
        self.due: list[tuple[float, int]] = []  # (due, contact): retries and call-backs
        self.attempts = [0] * len(contacts)
        self.done = 0
        self.wake_at = math.inf
        self.counts = _Counts()
        self.log: list[Attempt] = []

    # the event loop
    def at(self, t: float, act: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.events, _Event(t, self.seq, act))

    def run(self) -> Report:
        self.dial()
        while self.events and self.events[0].at < self.config.duration:
            event = heapq.heappop(self.events)
            self.now = event.at
            event.act()
            self.dial()
        return self.report()

    # dialing
    def dial(self) -> None:
        floor = Floor(
            free_agents=self.free,
            busy_agents=self.config.agents - self.free,
            ringing=self.ringing,
            waiting=len(self.waiting),
            connected=self.connected,
        )
        decision: DialDecision = calls_to_place(
            self.config.mode, floor, self.window.stats(), self.config.settings
        )
        gateway = self.config.gateway
        for _ in range(decision.calls):
            if not self.pacer.may_dial(gateway, self.now):
                wake = self.pacer.next_dial_at(gateway, self.now)
                if wake is not None:
                    self.wake(wake)
                return
            contact = self.next_contact()
            if contact is None:
                return
            self.place(contact)

    def wake(self, t: float) -> None:
        if t < self.wake_at or self.wake_at <= self.now:
            self.wake_at = t
            self.at(t, lambda: None)

    def next_contact(self) -> int | None:
        """The next contact to dial now: due retries first, then fresh ones; those outside
        their calling windows are put back for when they open."""
        while True:
            if self.due and self.due[0][0] <= self.now:
                contact = heapq.heappop(self.due)[1]
            elif self.fresh:
                contact = self.fresh.popleft()
            else:
                if self.due:
                    self.wake(self.due[0][0])
                return None
            opens = self.opening(contact, self.now)
            if opens == self.now:
                return contact
            if opens is None:
                self.done += 1
            else:
                heapq.heappush(self.due, (opens, contact))

    def opening(self, contact: int, t: float) -> float | None:
        windows = self.config.windows
        if windows is None:
            return t
        instant = self.config.start + timedelta(seconds=t)
        if allowed(windows, self.zones[contact], instant):
            return t
        opens = next_opening(windows, self.zones[contact], instant)
        return None if opens is None else (opens - self.config.start).total_seconds()

    def place(self, contact: int) -> None:
        self.attempts[contact] += 1
        attempt = self.attempts[contact]
        draw = self.draw(contact, attempt)
        result = draw.choices(self.outcomes, self.weights)[0]
        low, high = self.model.ring[result]
        call = _Call(contact, attempt, self.now, result, talk=self.talk_time(draw))
        self.pacer.started(self.config.gateway, self.now)
        self.counts.dialed += 1
        self.ringing += 1
        self.at(self.now + draw.uniform(low, high), lambda: self.outcome(call))

    def draw(self, contact: int, attempt: int) -> random.Random:
        """The dice of one attempt: the same contact's same attempt fares the same in every
        mode of the same seed, so modes are compared on the same world."""
        return random.Random((self.config.seed << 40) ^ (contact << 8) ^ attempt)

    def talk_time(self, draw: random.Random) -> float:
        m = self.model
        return draw.lognormvariate(math.log(m.talk_mean) - m.talk_sigma**2 / 2, m.talk_sigma)

    # what happens to a call
    def outcome(self, call: _Call) -> None:
        self.ringing -= 1
        if call.result is not Result.ANSWERED:
            self.window.record_attempt(self.now - call.dialed, answered=False)
            self.hang_up()
            self.retry(call, call.result)
            return
        call.answered_at = self.now
        self.counts.answered += 1
        if self.config.mode is DialMode.AGENTLESS:
            self.window.record_attempt(self.now - call.dialed, answered=True)
            self.play_message(call, Result.ANSWERED)
        elif self.free:
            self.connect(call)
        else:
            self.waiting.append(call)
            self.at(self.now + self.config.settings.grace, lambda: self.grace_over(call))

    def connect(self, call: _Call) -> None:
        self.free -= 1
        self.counts.connected += 1
        self.window.record_attempt(call.answered_at - call.dialed, answered=True)
        talk, wrap = call.talk, self.model.wrap
        end = self.now + talk + wrap
        self.counts.busy_time += min(end, self.config.duration) - self.now
        self.at(self.now + talk, self.hang_up)
        self.at(end, lambda: self.agent_free(talk + wrap))
        self.retry(call, Result.ANSWERED)

    def grace_over(self, call: _Call) -> None:
        if call not in self.waiting:
            return
        self.waiting.remove(call)
        self.counts.abandoned += 1
        self.window.record_attempt(call.answered_at - call.dialed, True, abandoned=True)
        self.play_message(call, Result.ABANDONED)

    def play_message(self, call: _Call, result: Result) -> None:
        self.connected += 1

        def over() -> None:
            self.connected -= 1
            self.hang_up()

        self.at(self.now + self.model.message, over)
        self.retry(call, result)

    def agent_free(self, handle: float) -> None:
        self.window.record_handle(handle)
        self.free += 1
        if self.waiting:
            self.connect(self.waiting.popleft())

    def hang_up(self) -> None:
        self.pacer.ended(self.config.gateway)

    def retry(self, call: _Call, result: Result) -> None:
        number = self.contacts[call.contact].number
        self.log.append(Attempt(call.dialed, number, result, call.attempt))
        now = self.config.start + timedelta(seconds=self.now)
        step = next_step(self.config.retry, call.attempt, result, now)
        if isinstance(step, RetryAt):
            due = (step.at - self.config.start).total_seconds()
            heapq.heappush(self.due, (due, call.contact))
        else:
            self.done += 1

    def report(self) -> Report:
        c, hours = self.counts, self.config.agents * self.config.duration / 3600
        dialed_contacts = sum(1 for a in self.attempts if a)
        return Report(
            mode=self.config.mode,
            dialed=c.dialed,
            answered=c.answered,
            abandoned=c.abandoned,
            connected=c.connected,
            abandon_rate=c.abandoned / c.answered if c.answered else 0.0,
            occupancy=c.busy_time / (self.config.agents * self.config.duration),
            connects_per_agent_hour=c.connected / hours if hours else 0.0,
            dials_per_agent_hour=c.dialed / hours if hours else 0.0,
            attempts_per_contact=c.dialed / dialed_contacts if dialed_contacts else 0.0,
            contacts_dialed=dialed_contacts,
            contacts_done=self.done,
            log=tuple(sorted(self.log, key=lambda a: a.at)),
        )


def contact_list(size: int, seed: int = 1, zones: Sequence[str] = ()) -> list[Contact]:
    """`size` made-up numbers, in `zones` drawn at random (none: the campaign's zone)."""
    rng = random.Random(seed)
    first = rng.randrange(10**7)
    # 7919 is prime to 10⁷: the numbers are all different
    return [
        Contact(f"+3361{(first + 7919 * i) % 10**7:07d}", rng.choice(zones) if zones else None)
        for i in range(size)
    ]
