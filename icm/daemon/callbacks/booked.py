"""Booked call-backs at their time (AG-17): Celery asks (`callback_ring`), icm rings the
booking agent's phone first — a direct offer with the call-back's screen pop — and once the
agent answers dials the customer and bridges them; when the agent is not free or does not
answer, the call-back waits in its queue (when it has one) like a caller's call-back.

State changes only in icm's consumer greenlet (`request`, `on_event`, `leg_failed`); the
outcome of each call-back is reported through `on_outcome` (saved by the persister).

Each dial of the customer is attempt N of the call-back (Celery numbers them from the
database, agents.callback_retry): reported `dialling` with its leg, then `answered`,
`no_answer`, `busy` or `failed` from the leg's own events. The originate job's reply is
advice (icm.daemon.acd.runtime.job_done): `-ERR ORIGINATOR_CANCEL` is what a real switch
answers for a leg already bridged, so it never ends a dial — the leg's events do, or the
reconciler finding the leg gone; any other refusal of a leg never shown ends it at once.

Campaign calls that ring their agent first — an agent's "call back at …" on a campaign call,
and a preview the agent chose to call — go the same way (`ring_campaign`), through the
campaign's gateway under its caps; their outcome is the campaign dialer's
(icm.daemon.campaigns.dialer: the attempt log), and an agent that does not answer hands them back
to it (to the queue, or to the next agent's preview).
"""

from __future__ import annotations

import logging
import re
import time
import uuid as uuidlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent.event
from django.conf import settings

from icm.bus.commands import CommandError
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.agent_fsm import IllegalTransition
from icm.domain.acd.engine import UnknownQueue
from icm.domain.acd.model import AgentState, Contact, Media

if TYPE_CHECKING:
    from icm.daemon.acd.runtime import AcdRuntime
    from icm.daemon.campaigns.call import CampaignCall
    from icm.daemon.campaigns.dialer import CampaignDialer

log = logging.getLogger(__name__)
RING_SECONDS = 30
REMEMBERED = 10_000  # call-back attempts taken, so that a repeated request never rings twice
BUSY = frozenset({"USER_BUSY", "CALL_REJECTED"})
NOT_ANSWERED = frozenset(
    {"NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL", "ALLOTTED_TIMEOUT", "ICM_RECONCILED"}
)
FREE = (AgentState.READY, AgentState.NOT_READY)  # in wrap-up it finishes its notes first


@dataclass(slots=True)
class Booking:
    callback: str
    agent: str
    queue: str
    number: str
    note: str
    customer: str
    leg: str = ""  # the agent's leg while its phone rings
    since: float = field(default_factory=time.time)
    attempt: int = 1  # which dial of the customer this is (agents.callback_retry)
    ring_seconds: int = RING_SECONDS  # how long the customer's phone rings
    customer_leg: str = ""

    @property
    def key(self) -> str:
        return f"{self.callback}#{self.attempt}"

    campaign: CampaignCall | None = None  # a campaign attempt (its leg is the customer's)


@dataclass(slots=True)
class CallbackRing:
    """Celery's `callback_ring` command, run by the consumer greenlet."""

    args: dict[str, Any]
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


class BookedCallbacks:
    def __init__(
        self,
        switch: str,
        runtime: AcdRuntime,
        on_outcome: Callable[..., None] = lambda *outcome: None,
        clock: Callable[[], float] = time.time,
        campaigns: CampaignDialer | None = None,
    ) -> None:
        self.switch = switch
        self.rt = runtime
        self.on_outcome = on_outcome
        self.clock = clock
        self.ringing: dict[str, Booking] = {}  # agent leg -> booking
        self.dialled: dict[str, Booking] = {}  # customer leg being dialled -> booking
        self.by_agent: dict[str, Booking] = {}
        self.taken: OrderedDict[str, None] = OrderedDict()
        self.campaigns = campaigns  # previews and campaign call-backs ring agents through here
        self.queued: dict[str, Booking] = {}  # contact waiting in its queue -> booking
        runtime.on_dial_back = self._dialled_from_queue

    @staticmethod
    def check(args: dict[str, Any]) -> Booking:
        """The command's arguments, checked (in the command greenlet, before queuing it)."""
        booking = Booking(
            callback=str(args.get("callback", "")),
            agent=str(args.get("agent") or ""),
            queue=str(args.get("queue") or ""),
            number=str(args.get("number", "")),
            note=str(args.get("note") or "")[:1000],
            customer=str(args.get("customer") or "")[:200],
        )
        attempt, ring = str(args.get("attempt") or "1"), str(args.get("ring_seconds") or "")
        if not attempt.isdigit() or not 1 <= int(attempt) <= 99:
            raise CommandError("a call-back's attempt is a number from 1 to 99")
        booking.attempt = int(attempt)
        if ring:
            if not ring.isdigit() or not 5 <= int(ring) <= 120:
                raise CommandError("ring_seconds is a number from 5 to 120")
            booking.ring_seconds = int(ring)
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", booking.callback):
            raise CommandError("a call-back needs its id")
        if not re.fullmatch(r"\+?[0-9]{2,20}", booking.number):
            raise CommandError(f"{booking.number!r} is not a phone number")
        if not booking.agent and not booking.queue:
            raise CommandError("a call-back goes to an agent or a queue")
        return booking

    # --- Celery's request (consumer greenlet) --------------------------------------------
    def request(self, req: CallbackRing) -> None:
        try:
            req.result.set(self._ring(self.check(req.args)))
        except CommandError as exc:
            req.result.set_exception(exc)

    def _ring(self, booking: Booking) -> dict[str, Any]:
        if booking.key in self.taken:
            return {"status": "duplicate"}
        why = self._agent_unavailable(booking.agent) if booking.agent else "no agent booked"
        if why and not booking.queue:
            raise CommandError(why)
        if why:
            log.info("call-back %s: %s; waiting in queue %s", booking.callback, why, booking.queue)
            result = {"status": "queued", "contact": self._to_queue(booking)}
        else:
            result = {"status": "ringing_agent", "contact": self._ring_agent(booking)}
        self._remember(booking.key)  # once taken: a refusal is asked again later
        return result

    def _agent_unavailable(self, agent_id: str) -> str:
        agent = self.rt.agent(agent_id)
        if agent is None or agent.state is AgentState.LOGGED_OUT:
            return f"agent {agent_id} is not signed in"
        if agent.state not in FREE or agent_id in self.rt.agent_leg:
            return f"agent {agent_id} is busy"
        if not self.rt.extensions.get(agent_id):
            return f"agent {agent_id} has no phone"
        return ""

    def ring_campaign(self, call: CampaignCall, reserved: bool) -> str:
        """Ring the agent of a campaign call (`reserved`: a preview's, already reserved for
        it) before its customer is dialed; "" when ringing, else why it cannot."""
        agent_id = call.agent_first
        if reserved:
            if self.rt.reserved_for(agent_id) != call.leg:
                return f"agent {agent_id} is no longer reserved for it"
            why = "" if self.rt.extensions.get(agent_id) else f"agent {agent_id} has no phone"
        else:
            why = self._agent_unavailable(agent_id)
        if why:
            return why
        booking = Booking(
            call.key,
            agent_id,
            call.queue,
            call.number,
            "",
            str(call.data.get("name") or ""),
            campaign=call,
        )
        try:
            self._ring_agent(booking, contact_id=call.leg, reserve=not reserved)
        except CommandError as exc:
            return str(exc)
        return ""

    def _ring_agent(self, booking: Booking, contact_id: str = "", reserve: bool = True) -> str:
        leg = str(uuidlib.uuid4())
        booking.leg = leg
        self.by_agent[booking.agent] = booking
        try:
            if reserve:  # (a preview's agent was reserved when it was shown the contact)
                self.rt.offer_direct(booking.agent, contact_id or leg, self.clock(), "call-back")
        except IllegalTransition as exc:
            del self.by_agent[booking.agent]
            raise CommandError(str(exc)) from exc
        self.ringing[leg] = booking
        booking.since = self.clock()
        tag = "ipbx_attempt" if booking.campaign is not None else "ipbx_callback"
        variables = {
            "originate_timeout": str(RING_SECONDS),
            "ipbx_agent": booking.agent,
            tag: str(booking.callback),
        }
        extension = self.rt.extensions[booking.agent]
        log.info(
            "call-back %s: ringing agent %s on %s, then %s",
            booking.callback,
            booking.agent,
            extension,
            booking.number,
        )
        self.rt.send(
            cmd.OriginateCall(
                endpoint=f"user/{extension}",
                uuid=leg,
                caller_id_number=booking.number,
                variables=variables,
                then=(cmd.Park(),),
            ),
            leg=leg,
        )
        return leg

    def _to_queue(self, booking: Booking) -> str:
        contact_id = str(uuidlib.uuid4())
        contact = Contact(
            contact_id,
            booking.queue,
            self.clock(),
            media=Media.CALLBACK,
            ani=booking.number,
            attached={
                "arrived": "callback",
                "transfer_note": booking.note,
                "callback": booking.callback,
            },
        )
        self.queued[contact_id] = booking
        self.rt.callbacks[contact_id] = booking.number
        try:
            self.rt.enqueue(contact, self.clock())
        except UnknownQueue as exc:
            self.rt.callbacks.pop(contact_id, None)
            self.queued.pop(contact_id, None)
            raise CommandError(f"there is no queue {booking.queue!r}") from exc
        self.on_outcome(booking.callback, "queued", booking.queue)
        return contact_id

    def _remember(self, callback: str) -> None:
        self.taken[callback] = None
        while len(self.taken) > REMEMBERED:
            self.taken.popitem(last=False)

    # --- what the agent's desktop shows --------------------------------------------------
    def offer_card(self, agent_id: str) -> dict[str, Any] | None:
        booking = self.by_agent.get(agent_id)
        if booking is None:
            return None
        call = booking.campaign
        if call is not None:
            arrived = "preview" if call.from_preview else "callback"  # its phone rings
            return {
                "contact": call.leg,
                "queue": call.queue,
                "ani": call.number,
                "customer": "",
                "media": "callback",
                "priority": 0,
                "attached": {**call.attached(), "arrived": arrived},
            }
        return {
            "contact": booking.leg,
            "queue": booking.queue,
            "ani": booking.number,
            "customer": "",
            "media": "callback",
            "priority": 0,
            "attached": {
                "arrived": "callback",
                "transfer_note": booking.note,
                "callback": booking.callback,
            },
        }

    def ringing_leg(self, agent_id: str) -> str:
        booking = self.by_agent.get(agent_id)
        return booking.leg if booking is not None and booking.leg in self.ringing else ""

    # --- switch events (consumer greenlet) -----------------------------------------------
    def on_event(self, event: ev.DomainEvent) -> bool:
        """True when the event was the ringing agent leg's (the ACD must not see it)."""
        if not isinstance(event, (ev.LegAnswered, ev.LegHungUp)):
            return False
        dialled = self.dialled.pop(event.uuid, None)
        if dialled is not None and dialled.campaign is not None:
            return False  # the campaign dialer keeps its score (the attempt log)
        if dialled is not None:  # the customer's leg: the ACD bridges it, we keep the score
            if isinstance(event, ev.LegAnswered):
                self._scored(dialled, "answered", f"{dialled.number} answered")
            else:
                self._scored(dialled, dial_outcome(event.cause), event.cause)
            return False
        booking = self.ringing.pop(event.uuid, None)
        if booking is None:
            return False
        if isinstance(event, ev.LegAnswered):
            self._agent_answered(booking)
        else:
            self._agent_missed(booking, event.cause)
        return True

    def legs_to_check(self, older_than: float) -> list[str]:
        """Agent legs ringing for a call-back longer than `older_than` s, and customer legs
        still unanswered that long after their ring time (the reconciler ends those the
        switch no longer has: a lost hang-up never leaves an agent waiting)."""
        now = self.clock()
        agents = [leg for leg, b in self.ringing.items() if now - b.since > older_than]
        customers = [
            leg
            for leg, b in self.dialled.items()
            if b.campaign is None and now - b.since > older_than + b.ring_seconds
        ]
        return agents + customers

    def leg_failed(self, leg: str, cause: str) -> bool:
        """An originate of ours answered -ERR for a leg the switch never showed. True keeps
        the ACD from ending the leg's call (icm.daemon.acd.runtime.originate_failed)."""
        dialled = self.dialled.get(leg)
        if dialled is not None and dialled.campaign is None:
            del self.dialled[leg]
            self._scored(dialled, dial_outcome(cause), f"the switch refused the dial: {cause}")
            return False  # the ACD frees the agent's leg
        booking = self.ringing.pop(leg, None)
        if booking is None:
            return False
        self._agent_missed(booking, cause)
        return True

    def _dialled_from_queue(self, contact_id: str, customer: str, number: str, queue: str) -> int:
        """The ACD dials the customer of a call-back that waited in its queue — a booked one,
        or a caller's who kept its place: its ring time."""
        booking = self.queued.pop(contact_id, None)
        if booking is None:  # a caller's: unanswered, it becomes a booked one (the rule's)
            ring = int(getattr(settings, "IPBX_CALLBACK_RING_SECONDS", RING_SECONDS))
            booking = Booking("", "", queue, number, "", "", attempt=1, ring_seconds=ring)
        self._dialling(booking, customer)
        return booking.ring_seconds

    def _dialling(self, booking: Booking, customer: str) -> None:
        booking.customer_leg, booking.since = customer, self.clock()
        self.dialled[customer] = booking
        if booking.callback:
            self.on_outcome(booking.callback, "dialling", customer, booking.attempt, self.clock())

    def _scored(self, booking: Booking, outcome: str, detail: str) -> None:
        """The dial's outcome; a call-back not answered may be asked again (next attempt)."""
        if outcome != "answered":
            self.taken.pop(booking.key, None)
        log.info("call-back %s: %s dialled: %s (%s)", booking.key, booking.number, outcome, detail)
        if booking.callback:
            self.on_outcome(booking.callback, outcome, detail[:200], booking.attempt, self.clock())
        elif outcome != "answered":  # a caller's call-back: saved as a booked one to retry
            dial = {"queue": booking.queue, "number": booking.number, "leg": booking.customer_leg}
            self.on_outcome("", f"caller_{outcome}", detail[:200], 1, self.clock(), dial)

    def reject(self, agent_id: str) -> bool:
        """The agent rejects the ringing call-back: its phone stops; the queue takes it."""
        leg = self.ringing_leg(agent_id)
        if leg:
            self.rt.send(cmd.HangupLeg(leg, "CALL_REJECTED"))
        return bool(leg)

    def _agent_answered(self, booking: Booking) -> None:
        rt = self.rt
        self.by_agent.pop(booking.agent, None)
        rt.direct_answered(booking.agent, self.clock(), booking.queue)
        rt.agent_leg[booking.agent] = booking.leg
        rt.leg_agent[booking.leg] = booking.agent
        log.info(
            "call-back %s: agent %s answered; dialling %s",
            booking.callback,
            booking.agent,
            booking.number,
        )
        call = booking.campaign
        if call is not None:  # the campaign dialer dials the customer and keeps the score
            assert self.campaigns is not None
            self.dialled[call.leg] = booking
            rt.expect_customer(call.leg, booking.leg)
            self.campaigns.dial_customer(call.leg, booking.agent, booking.leg)
            return
        customer = rt.dial_back(booking.leg, booking.number, booking.leg, booking.ring_seconds)
        if customer:
            self._dialling(booking, customer)
        else:
            self.taken.pop(booking.key, None)
            self.on_outcome(booking.callback, "missed", "no trunk to dial the customer")

    def _agent_missed(self, booking: Booking, cause: str) -> None:
        self.by_agent.pop(booking.agent, None)
        why = "reject" if cause == "CALL_REJECTED" else "no_answer"
        self.rt.direct_failed(booking.agent, self.clock(), why)
        log.warning(
            "call-back %s: agent %s did not answer (%s)", booking.callback, booking.agent, cause
        )
        if booking.campaign is not None:
            assert self.campaigns is not None
            self.campaigns.agent_missed(booking.campaign.leg, cause)
            return
        if booking.queue:
            try:
                self._to_queue(booking)
                return
            except CommandError as exc:
                cause = str(exc)
        self.taken.pop(booking.key, None)  # Celery asks again later: ring again then
        self.on_outcome(booking.callback, "missed", f"agent {booking.agent}: {cause}")


def dial_outcome(cause: str) -> str:
    """A customer leg's end (its hang-up cause, or its originate's refusal) as the outcome
    of a call-back's attempt."""
    if cause in BUSY:
        return "busy"
    if cause in NOT_ANSWERED:
        return "no_answer"
    return "failed"
