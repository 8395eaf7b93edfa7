"""The ACD on the switch (R-1, AG-4, AG-5, AG-7): turns the engine's decisions into calls.

Offer: originate the agent's phone (`user/<ext>`, parked on answer) with the caller's number
and the contact's data; answer → `uuid_bridge` customer and agent; no answer, busy or a
failed originate → the engine re-routes. Hang-ups end the agent's call (wrap-up) or abandon
the waiting contact. Runs inside icm's consumer greenlet: the single writer of ACD state.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gevent
import gevent.event

from icm.daemon.acd.facade import AcdFacade
from icm.daemon.acd.messages import (
    AcdError,
    AcdRequest,
    OfferLegFailed,
)
from icm.daemon.acd.overflow_exits import OverflowExits
from icm.daemon.acd.recovery import RestartRecovery
from icm.daemon.acd.waiting_callers import WaitingCallers
from icm.daemon.pending_jobs import PendingJobs
from icm.daemon.switch import CommandRefused, SwitchNotConnected
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.agent_fsm import AgentStateChanged, IllegalTransition
from icm.domain.acd.engine import Acd, UnknownAgent, UnknownQueue
from icm.domain.acd.model import AgentState, CallKind, Contact, QueuePolicy
from icm.domain.acd.outputs import (
    CallbackOverflow,
    CancelOffer,
    ContactFinished,
    OfferContact,
    Output,
)
from icm.domain.acd.sessions import AgentSession
from icm.domain.acd.strategies import InvalidPolicy
from outbound.domain.dialling_rules import default_refusal

log = logging.getLogger(__name__)

BUSY_CAUSES = frozenset({"USER_BUSY", "CALL_REJECTED"})
REFUSED_LEGS_KEPT = 1000  # legs whose originate was refused, remembered to end stray ones
_PHONE_CHANNEL = re.compile(r"^sofia/internal/(?:sip:)?([0-9*#+]+)@")


@dataclass(slots=True)
class _Offer:
    contact_id: str
    agent_id: str
    answered: bool = False


class AcdRuntime(RestartRecovery, OverflowExits, AcdFacade):
    def __init__(
        self,
        switch: str,
        bgapi: Callable[[cmd.SwitchCommand], str],
        post: Callable[[object], None],
        on_agent_change: Callable[[AgentStateChanged], None],
        on_contact_finished: Callable[[ContactFinished, dict[str, Any]], None],
        on_leg_expected: Callable[[ev.LegExpected], None] = lambda event: None,
        load_policy: Callable[[str], QueuePolicy | None] = lambda name: None,
        load_agent: Callable[[str], tuple[dict[str, int], str] | None] = lambda agent: None,
        on_offer: Callable[[OfferContact], None] = lambda offer: None,
        leg_channel: Callable[[str], str] = lambda uuid: "",
        clock: Callable[[], float] = time.time,
        intercept_leg_failed: Callable[[str, str], bool] = lambda leg, cause: False,
        number_refusal: Callable[[str], str] = default_refusal,
        load_gateway: Callable[[], str | None] = lambda: None,
        in_consultation: Callable[[str], bool] = lambda agent_id: False,
    ) -> None:
        self.switch = switch
        self.acd = Acd()
        self.bgapi = bgapi
        self.post = post
        self.jobs: PendingJobs[str] = PendingJobs(f"acd {switch}")  # Job-UUID -> offer leg
        self.on_agent_change = on_agent_change
        self.on_contact_finished = on_contact_finished
        self.on_leg_expected = on_leg_expected
        self.load_policy = load_policy
        self.load_agent = load_agent
        # the trunk call-backs are dialled through: read with the dialling rules, off the
        # consumer (icm.daemon.loops); read here only while none is known (one just added)
        self.gateway: str | None = None
        self.load_gateway = load_gateway
        self.on_offer = on_offer
        self.leg_channel = leg_channel
        # legs another part of icm follows (consultations): it sees their failed originates
        self.intercept_leg_failed = intercept_leg_failed
        # why the company's dialling rules refuse a number ("": allowed); icm wires the
        # database's rules, the safe defaults until then (issue 18 item 4)
        self.number_refusal = number_refusal
        self.direct_legs: dict[str, str] = {}  # an agent's own (non-ACD) call leg -> agent
        self.callbacks: dict[str, str] = {}  # contact -> number to dial back
        self.waiting = WaitingCallers(post)  # what callers waiting in a queue ask and are told
        # a call-back's customer is dialled (contact, customer leg, number, queue): its ring
        # time (0: the switch's default) — icm.daemon.callbacks.booked follows the dial
        self.on_dial_back: Callable[[str, str, str, str], int] = lambda *dial: 0
        self.dialling: dict[str, str] = {}  # customer leg being dialled -> agent leg
        # the agent's leg is in a consultation (consults.consultations): it outlives its customer
        self.in_consultation = in_consultation
        self.clock = clock
        self.extensions: dict[str, str] = {}  # agent -> extension number
        self.extension_agents: dict[str, str] = {}  # extension number -> agent
        # why an extension's phone cannot be rung ("": it can); the registrations feature's
        self.phone_reach: Callable[[str], str] = lambda extension: ""
        self.offers: dict[str, _Offer] = {}  # agent leg uuid -> offer
        self.agent_leg: dict[str, str] = {}  # agent -> its leg (ringing or talking)
        self.leg_agent: dict[str, str] = {}  # talking agent leg -> agent
        self.customer_leg: dict[str, str] = {}  # contact -> customer leg uuid (= contact id)
        self.talking: dict[str, str] = {}  # customer leg -> agent, once bridged
        self.explanations: dict[str, dict[str, Any]] = {}
        self.wake = gevent.event.Event()
        # perf_counter() of the input being handled, and input → originate latencies (s)
        self.trigger_time: float | None = None
        self.dispatch_latencies: deque[float] = deque(maxlen=100_000)
        self.offers_sent = 0
        self._refused_legs: dict[str, str] = {}  # leg -> cause its originate job answered
        # agents restored on a call after an icm restart, linked to their legs at the resync
        self._to_link: list[AgentSession] = []
        self._ringing_when_stopped: list[str] = []
        # reload reads are numbered before their query; the consumer applies a queue's or an
        # agent's read only if no later-started read was applied already (two saves in a row)
        self._reads = itertools.count(1)
        self._applied_read: dict[tuple[str, str], int] = {}

    # --- configuration -------------------------------------------------------------------
    def configure(
        self, policies: list[QueuePolicy], agents: list[tuple[str, dict[str, int], str]]
    ) -> None:
        now = self.clock()
        for agent_id, skills, extension in agents:
            self.acd.set_agent(agent_id, skills)
            self._set_extension(agent_id, extension)
        for policy in policies:
            self.apply(self.acd.set_policy(policy, now))
        log.info("acd %s: %d queues, %d agents", self.switch, len(policies), len(agents))

    # --- inputs --------------------------------------------------------------------------
    def contact_arrived(self, contact: Contact) -> None:
        self.customer_leg[contact.contact_id] = contact.contact_id
        try:
            self.apply(self.acd.enqueue(contact, self.clock()))
        except UnknownQueue:
            log.error("call %s: queue %s is unknown to the ACD", contact.contact_id, contact.queue)

    def request(self, req: AcdRequest) -> None:
        now = self.clock()
        args = req.args
        agent = str(args.get("agent", ""))
        try:
            match req.name:
                case "agent_login":
                    outputs = self.acd.login(agent, now, ready=bool(args.get("ready", True)))
                case "agent_logout":
                    outputs = self.acd.logout(agent, now)
                case "agent_ready":
                    outputs = self.acd.set_ready(agent, now)
                case "agent_not_ready":
                    outputs = self.acd.set_not_ready(agent, now, str(args.get("reason", "")))
                case "end_wrap_up":
                    outputs = self.acd.end_wrap_up(agent, now)
                case "extend_wrap_up":
                    outputs = self.acd.extend_wrap_up(agent, float(args.get("seconds", 30)), now)
                case "agent_reject":
                    outputs = self._reject(agent, bool(args.get("not_ready")), now)
                case "agent_pick":
                    outputs = self._pick(agent, str(args.get("contact", "")), args, now)
                case "reload_queue":
                    outputs = self._reload_queue(req, now)
                case "reload_agent":
                    outputs = self._reload_agent(req, now)
                case _:
                    raise AcdError(f"unknown ACD command {req.name!r}")
        except UnknownAgent as exc:
            req.result.set_exception(AcdError(f"unknown agent {exc.args[0]!r}"))
            return
        except (IllegalTransition, InvalidPolicy) as exc:
            log.warning("acd %s: %s refused: %s", self.switch, req.name, exc)
            req.result.set_exception(AcdError(str(exc)))
            return
        except AcdError as exc:
            req.result.set_exception(exc)
            return
        self.apply(outputs)
        state = self.acd.agents[agent].state if agent in self.acd.agents else None
        req.result.set({"agent": agent, "state": str(state) if state else None})

    def _pick(self, agent: str, contact_id: str, args: dict[str, Any], now: float) -> list[Output]:
        """A supervisor gives a waiting caller to an agent; with `queue`, only a caller who
        really waits in that queue (the supervisor's scope was checked on that queue)."""
        queue = str(args.get("queue", ""))
        waiting = self.acd.contacts.get(contact_id)
        if queue and (waiting is None or waiting.queue != queue):
            raise AcdError(f"caller {contact_id[:64]} is not waiting in queue {queue}")
        return self.acd.pick(agent, contact_id, now)

    def preload(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """What a request needs from the database, read before it reaches the consumer (run
        by the command greenlet): a reloaded queue's policy, a reloaded agent's skills."""
        read = next(self._reads)  # numbered before the query: a later read sees newer rows
        if name == "reload_queue":
            queue = str(args.get("queue", ""))
            try:
                policy = self.load_policy(queue)
            except InvalidPolicy as exc:
                log.warning("acd %s: queue %s not reloaded: %s", self.switch, queue, exc)
                raise AcdError(str(exc)) from exc
            if policy is None:
                raise AcdError(f"queue {queue!r} is unknown or disabled")
            return {"policy": policy, "read": read}
        if name == "reload_agent":
            agent = str(args.get("agent", ""))
            found = self.load_agent(agent)
            if found is None:
                raise AcdError(f"agent {agent!r} is unknown or inactive")
            return {"agent": found, "read": read}
        return {}

    def _stale(self, kind: str, key: str, loaded: dict[str, Any]) -> bool:
        """Whether a later-started read of this queue or agent was applied already: two
        reloads whose reads finish out of order must leave the newer configuration."""
        read = int(loaded["read"])
        if read < self._applied_read.get((kind, key), 0):
            log.info("acd %s: %s %s: an older read arrived late; ignored", self.switch, kind, key)
            return True
        self._applied_read[(kind, key)] = read
        return False

    def _reload_queue(self, req: AcdRequest, now: float) -> list[Output]:
        """A queue's strategy or parameters changed (R-5, R-10): apply live, keep waiting calls."""
        loaded = req.loaded if "policy" in req.loaded else self.preload(req.name, req.args)
        policy = loaded["policy"]
        name = policy.name
        if self._stale("queue", name, loaded):
            return []
        old = self.acd.policies.get(name)
        policy = replace(policy, version=(old.version + 1) if old else 1)
        log.info(
            "acd %s: queue %s now %s (version %d)",
            self.switch,
            name,
            policy.strategy,
            policy.version,
        )
        return self.acd.set_policy(policy, now)

    def _reload_agent(self, req: AcdRequest, now: float) -> list[Output]:
        agent_id = str(req.args.get("agent", ""))
        loaded = req.loaded if "agent" in req.loaded else self.preload(req.name, req.args)
        if self._stale("agent", agent_id, loaded):
            return []
        skills, extension = loaded["agent"]
        self._set_extension(agent_id, extension)
        log.info("acd %s: agent %s skills now %s", self.switch, agent_id, skills)
        why = self.phone_reach(extension) if extension else ""  # its phone may have changed
        out = self.acd.set_unreachable(agent_id, why, now)  # before it is offered anything
        out += self.acd.change_agent(agent_id, skills, now)
        return out + self.acd.set_unreachable(agent_id, why, now)  # a new agent (signed out)

    def _reject(self, agent_id: str, not_ready: bool, now: float) -> list[Output]:
        """The agent refuses the ringing contact (AG-5): stop its phone, re-route the call."""
        agent = self.acd.agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        leg = self.agent_leg.get(agent_id, "")
        offer = self.offers.pop(leg, None)
        if offer is None:
            raise AcdError(f"agent {agent_id} has no call ringing")
        self.agent_leg.pop(agent_id, None)
        self.send(cmd.HangupLeg(leg, "CALL_REJECTED"))
        why = "rejected_not_ready" if not_ready else "rejected"
        return self.acd.offer_failed(offer.contact_id, agent_id, now, why)

    def on_event(self, event: ev.DomainEvent) -> None:
        """Switch events that matter to the ACD (called after the live model applied them)."""
        if isinstance(event, ev.LegAnswered) and event.uuid in self.dialling:
            agent_leg = self.dialling.pop(event.uuid)
            agent_id = self.leg_agent.get(agent_leg)
            if agent_id is not None:
                self.talking[event.uuid] = agent_id
                self.send(cmd.BridgeLegs(agent_leg, event.uuid))
            return
        if isinstance(event, ev.LegAnswered) and self.stray_leg(event.uuid):
            return
        if isinstance(event, ev.LegAnswered) and self._direct_call(event.uuid):
            return
        if isinstance(event, ev.LegAnswered):
            offer = self.offers.get(event.uuid)
            if offer is not None and not offer.answered:
                offer.answered = True
                self.apply(self.acd.offer_answered(offer.contact_id, offer.agent_id, self.clock()))
        elif isinstance(event, ev.LegHungUp):
            self._leg_gone(event.uuid, event.cause)

    def originate_failed(self, leg: str, cause: str) -> None:
        """A bgapi originate for an offer answered -ERR (e.g. USER_NOT_REGISTERED)."""
        if self.intercept_leg_failed(leg, cause):
            return
        self._leg_gone(leg, cause)

    def tick(self) -> None:
        self.apply(self.acd.tick(self.clock()))

    def leg_of(self, agent_id: str) -> str:
        """The agent's own leg: ringing or talking, a queue call or a direct one."""
        leg = self.agent_leg.get(agent_id, "")
        if leg:
            return leg
        return next((leg for leg, agent in self.direct_legs.items() if agent == agent_id), "")

    # --- outputs -------------------------------------------------------------------------
    def apply(self, outputs: list[Output]) -> None:
        for out in outputs:
            match out:
                case OfferContact():
                    self._offer(out)
                case CancelOffer():
                    for agent_id in out.agent_ids:
                        leg = self.agent_leg.pop(agent_id, "")
                        if leg and leg in self.offers:
                            del self.offers[leg]
                            self.send(cmd.HangupLeg(leg, "ORIGINATOR_CANCEL"))
                case ContactFinished():
                    self._finished(out)
                case CallbackOverflow():
                    self._callback_overflow(out)
                case AgentStateChanged():
                    self.on_agent_change(out)
        self.wake.set()  # timers may have changed

    def _offer(self, offer: OfferContact) -> None:
        self.explanations[offer.contact_id] = offer.explanation.as_dict()
        try:
            self.on_offer(offer)  # the screen pop (AG-4), published within one publish batch
        except Exception:  # a lost screen pop must never stop the call
            log.exception("call %s: screen pop not published", offer.contact_id)
        for agent_id in offer.agent_ids:
            extension = self.extensions.get(agent_id, "")
            leg = str(uuidlib.uuid4())
            self.offers[leg] = _Offer(offer.contact_id, agent_id)
            self.agent_leg[agent_id] = leg
            if not extension:
                log.warning(
                    "agent %s has no extension: offer of %s fails", agent_id, offer.contact_id
                )
                self.post(OfferLegFailed(leg, "USER_NOT_REGISTERED"))
                continue
            log.info(
                "call %s: ringing agent %s on %s (%s)",
                offer.contact_id,
                agent_id,
                extension,
                offer.explanation.strategy,
            )
            if offer.media != "callback":  # a call-back is a new call: the first one ended
                call_uuid = str(offer.attached.get("call_uuid") or offer.contact_id)
                self.on_leg_expected(ev.LegExpected(self.switch, leg, call_uuid))
            self.send(
                cmd.OriginateCall(
                    endpoint=f"user/{extension}",
                    uuid=leg,
                    then=(cmd.Park(),),
                    caller_id_number=cmd.plain_number(offer.ani) or "unknown",
                    variables={
                        "originate_timeout": str(int(offer.ring_timeout)),
                        "ipbx_contact": offer.contact_id,
                        "ipbx_agent": agent_id,
                        "ipbx_queue": offer.queue,
                    },
                ),
                leg=leg,
            )
            self.offers_sent += 1
            if self.trigger_time is not None:
                self.dispatch_latencies.append(time.perf_counter() - self.trigger_time)

    def _finished(self, done: ContactFinished) -> None:
        customer = self.customer_leg.pop(done.contact_id, done.contact_id)
        explanation = self.explanations.pop(done.contact_id, {})
        number = self.callbacks.pop(done.contact_id, None)
        if done.outcome == "answered" and number is not None:
            leg = self.agent_leg.get(done.agent_id, "")
            self.offers.pop(leg, None)
            self.leg_agent[leg] = done.agent_id
            self.dial_back(done.contact_id, number, leg, queue=done.queue)
        elif done.outcome == "answered":
            leg = self.agent_leg.get(done.agent_id, "")
            self.offers.pop(leg, None)
            self.leg_agent[leg] = done.agent_id
            self.talking[customer] = done.agent_id
            self.bridge_caller(customer, leg)
        elif done.outcome == "overflowed":
            self._overflowed(done)
        self.on_contact_finished(done, explanation)

    def dial_back(
        self,
        contact_id: str,
        number: str,
        agent_leg: str,
        ring_seconds: int = 0,
        queue: str = "",
    ) -> str:
        """The agent took the call-back: dial the customer and bridge them on answer (the
        job's reply is followed: a dial the switch refuses frees the agent)."""
        refused = self.number_refusal(number)  # the rules may have changed since the request
        if refused:
            log.error(
                "call-back %s: %s not dialled: %s; the agent is released",
                contact_id,
                number,
                refused,
            )
            self.send(cmd.HangupLeg(agent_leg, "NORMAL_TEMPORARY_FAILURE"))
            return ""
        gateway = self.gateway or self.load_gateway()
        if gateway is None or not valid_number(number):
            log.error(
                "call-back %s: no gateway or number to dial; the agent is released", contact_id
            )
            self.send(cmd.HangupLeg(agent_leg, "NORMAL_TEMPORARY_FAILURE"))
            return ""
        customer = str(uuidlib.uuid4())
        self.expect_customer(customer, agent_leg)
        log.info("call-back %s: dialling %s via %s", contact_id, number, gateway)
        variables = {"ipbx_contact": contact_id}
        ring_seconds = ring_seconds or self.on_dial_back(contact_id, customer, number, queue)
        if ring_seconds:
            variables["originate_timeout"] = str(int(ring_seconds))
        self.send(
            cmd.OriginateCall(
                endpoint=f"sofia/gateway/{gateway}/{number}",
                uuid=customer,
                then=(cmd.Park(),),
                variables=variables,
            ),
            leg=customer,
        )
        return customer

    def expect_customer(self, customer: str, agent_leg: str) -> None:
        """`customer` is being dialed for the agent on `agent_leg`: bridged when it answers;
        the agent's side ends if it does not (and the other way round)."""
        self.dialling[customer] = agent_leg
        self.on_leg_expected(ev.LegExpected(self.switch, customer, agent_leg))

    def _direct_call(self, leg: str) -> bool:
        """An agent's phone answered a call the ACD did not place (internal or outbound,
        AG-8): the agent is on a call — also when not ready — until that leg hangs up."""
        if leg in self.offers or leg in self.dialling or leg in self.leg_agent:
            return False
        match = _PHONE_CHANNEL.match(self.leg_channel(leg))
        agent_id = self.extension_agents.get(match.group(1)) if match else None
        if agent_id is None:
            return False
        agent = self.acd.agents[agent_id]
        if agent.state not in (AgentState.READY, AgentState.NOT_READY, AgentState.WRAP_UP):
            return False
        self.direct_legs[leg] = agent_id
        log.info("agent %s: direct call on leg %s", agent_id, leg)
        self.apply(self.acd.start_direct_call(agent_id, self.clock(), CallKind.INTERNAL))
        return True

    def _set_extension(self, agent_id: str, extension: str) -> None:
        old = self.extensions.get(agent_id)
        if old and self.extension_agents.get(old) == agent_id:
            del self.extension_agents[old]
        self.extensions[agent_id] = extension
        if extension:
            self.extension_agents[extension] = agent_id

    # --- internals -----------------------------------------------------------------------
    def _leg_gone(self, leg: str, cause: str) -> None:
        direct = self.direct_legs.pop(leg, None)
        if direct is not None:
            self.apply(self.acd.call_ended(direct, self.clock()))
            return
        if leg in self.dialling:  # the customer we called back did not answer
            agent_leg = self.dialling.pop(leg)
            log.warning("call-back leg %s ended unanswered (%s)", leg, cause)
            self.send(cmd.HangupLeg(agent_leg, "NORMAL_CLEARING"))
            return
        now = self.clock()
        offer = self.offers.pop(leg, None)
        if offer is not None:
            self.agent_leg.pop(offer.agent_id, None)
            why = "busy" if cause in BUSY_CAUSES else "no_answer"
            self.apply(self.acd.offer_failed(offer.contact_id, offer.agent_id, now, why))
            return
        agent_id = self.leg_agent.pop(leg, None)
        for customer in [c for c, a in self.dialling.items() if a == leg]:
            del self.dialling[customer]  # nobody is left to talk to the customer we dial
            self.send(cmd.HangupLeg(customer, "ORIGINATOR_CANCEL"))
        if agent_id is not None:  # the agent's side of a call hung up
            self.agent_leg.pop(agent_id, None)
            for customer in [c for c, a in self.talking.items() if a == agent_id]:
                self.waiting.agent_left(customer, self.acd.contact_queue_of_agent.get(agent_id, ""))
            self.talking = {c: a for c, a in self.talking.items() if a != agent_id}
            self.apply(self.acd.call_ended(agent_id, now))
            return
        agent_id = self.talking.pop(leg, None)
        if agent_id is not None:  # the customer hung up a bridged call
            agent_leg = self.agent_leg.pop(agent_id, "")
            self.leg_agent.pop(agent_leg, None)
            if agent_leg and not self.in_consultation(agent_id):
                # the switch ends a bridged partner itself; but a customer who hangs up as
                # the agent answers may leave before the bridge is made, and the agent's leg
                # would stay parked, its call never ending (harmless when it is gone)
                self.send(cmd.HangupLeg(agent_leg, "NORMAL_CLEARING"))
            self.apply(self.acd.call_ended(agent_id, now))
            return
        if leg in self.callbacks:
            return  # the caller hung up after asking to be called back: it keeps its place
        if leg in self.acd.contacts:  # a waiting or ringing customer left
            self.customer_leg.pop(leg, None)
            self.apply(self.acd.abandon(leg, now))

    def send(self, command: cmd.SwitchCommand, leg: str = "") -> None:
        """Start a switch command; never waits for the switch (the consumer must not block)."""
        try:
            job = self.bgapi(command)
        except SwitchNotConnected as exc:
            log.warning("acd %s: %s not sent: %s", self.switch, type(command).__name__, exc)
            if leg:
                self.post(OfferLegFailed(leg, "SWITCH_DISCONNECTED"))
            return
        except CommandRefused as exc:  # e.g. a hostile caller number: the command never leaves
            log.error("acd %s: %s refused: %s", self.switch, type(command).__name__, exc)
            if leg:
                self.post(OfferLegFailed(leg, "INVALID_NUMBER_FORMAT"))
            return
        if leg:
            self.jobs[job] = leg

    def job_done(self, job_uuid: str, result: str) -> bool:
        """A BACKGROUND_JOB arrived; True when it was one of our offers' originates.

        The job's reply is advice, the leg's own events are the truth: a real FreeSWITCH
        answers `-ERR ORIGINATOR_CANCEL` when the leg answered and was bridged before its
        originate returned, although the leg is up and talking. So an error ends the offer
        only when the switch never showed the leg; a leg it showed ends with its hang-up.
        """
        leg = self.jobs.pop(job_uuid, None)
        if leg is None:
            return False
        if not result.startswith("-ERR"):
            return True
        cause = result.removeprefix("-ERR").strip() or "UNKNOWN"
        if self.leg_channel(leg) or (leg in self.dialling and cause == "ORIGINATOR_CANCEL"):
            # (a customer we dial back is bridged when it answers: whichever came first,
            # the job's reply or the leg's events, the events decide)
            log.info(
                "acd %s: originate of leg %s answered %s, but the leg is on the switch: "
                "its own events decide",
                self.switch,
                leg,
                cause,
            )
            return True
        self._refused_legs[leg] = cause
        while len(self._refused_legs) > REFUSED_LEGS_KEPT:
            del self._refused_legs[next(iter(self._refused_legs))]
        self.originate_failed(leg, cause)
        return True

    def stray_leg(self, leg: str) -> bool:
        """A leg whose originate we took as refused shows up answered after all (its events
        were delivered after the job's reply): nobody expects it any more, end it."""
        cause = self._refused_legs.pop(leg, None)
        if cause is None:
            return False
        log.warning(
            "acd %s: leg %s answered after its originate was refused (%s): ending it",
            self.switch,
            leg,
            cause,
        )
        self.send(cmd.HangupLeg(leg, "ORIGINATOR_CANCEL"))
        return True


def valid_number(number: str) -> bool:
    """A number a gateway can dial: digits, `*`, `#`, an optional leading `+`."""
    return bool(re.fullmatch(r"\+?[0-9*#]{1,32}", number))
