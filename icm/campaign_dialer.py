"""Campaign calls on the switch (issue 9): Celery's pacer asks icm over the bus to dial an
attempt (`campaign_dial`, with its idempotency key); icm paces the originates (calls per
second and calls at once per campaign: outbound.domain.pacing), runs answering-machine
detection when asked (mod_amd's `amd`, then `park`), and then:
- a machine: hangs up, or leaves the campaign's message;
- agentless: plays the message and hangs up;
- progressive / predictive: hands the answered call to the campaign queue's agents through
  the ACD, at the front; no agent offered it within the 2 s grace → **abandoned**: withdrawn,
  the message played, hung up.
Every step is written to the attempt log by icm's persister (`outbound.attempt_store`).

A key is dialed once: it is claimed in Redis (`SET NX`, two days) before anything else, so a
request Celery sends again — a worker died before it knew icm had it — is answered
"duplicate" and dials nothing. `campaign_floor` tells the pacer what the campaign has now
(free and busy agents of its queue, calls ringing, waiting, connected).

Runs in icm: `dial` and `floor` in command greenlets, the pacer in its own greenlet,
everything else in the dispatch greenlet (switch events, ACD outputs).
"""

from __future__ import annotations

import logging
import re
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event

from icm.bus.commands import CommandError
from icm.domain.acd.model import AgentState, Contact
from outbound.domain.pacing import ConcurrencyCap, Pacer, TokenBucket

log = logging.getLogger(__name__)
GRACE_SECONDS = 2.0
AMD_WAIT = 7.0  # s: mod_amd decides within total_analysis_time (5 s)
KEY_TTL = 2 * 86400
PRIORITY = 1000  # campaign calls answered by a person go first
_SAFE = re.compile(r"^[A-Za-z0-9_.:+-]{1,100}$")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_MESSAGE = re.compile(r"^[A-Za-z0-9_./:@%=+-]{1,250}$")
CAUSES = {
    "USER_BUSY": "busy", "NO_ANSWER": "no_answer", "NO_USER_RESPONSE": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer", "ORIGINATOR_CANCEL": "no_answer",
    "UNALLOCATED_NUMBER": "invalid", "INVALID_NUMBER_FORMAT": "invalid",
    "NO_ROUTE_DESTINATION": "invalid", "NUMBER_CHANGED": "invalid",
}  # fmt: skip


@dataclass
class CampaignCall:
    key: str
    leg: str
    campaign: str
    number: str
    gateway: str
    mode: str
    queue: str
    ring_seconds: int
    caller_id: str = ""
    amd: bool = False
    machine_action: str = "hangup"
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    flow: str = ""
    requested: float = field(default_factory=time.time)
    placed: float | None = None
    answered: float | None = None
    offered: bool = False
    agent: str = ""
    result: str = ""
    placed_job: str = ""


class CampaignDialer:
    def __init__(
        self,
        switch: str,
        redis: Any,
        bgapi_nowait: Callable[[str], str],
        api: Callable[[str], str],
        acd: Any,
        post: Callable[[object], None],
        record: Callable[[dict[str, Any]], None],
        ivr_socket: str = "",
    ) -> None:
        self.switch = switch
        self.redis = redis
        self.bgapi_nowait = bgapi_nowait
        self.api = api
        self.acd = acd  # icm.acd_runtime.AcdRuntime
        self.post = post  # icm's inbox
        self.record = record  # an attempt-log update for the persister
        self.ivr_socket = ivr_socket  # host:port of icm's outbound socket (agentless flows)
        self.calls: dict[str, CampaignCall] = {}  # leg -> call
        self.jobs: dict[str, str] = {}  # bgapi job -> leg
        self.waiting: dict[str, deque[CampaignCall]] = {}  # campaign -> calls to place
        self.pacers: dict[str, Pacer] = {}
        self.originated = 0
        self._wake = gevent.event.Event()

    # --- the bus -------------------------------------------------------------------------
    def dial(self, args: dict[str, Any]) -> dict[str, Any]:
        """`campaign_dial`: claim the key, then queue the call for the pacer."""
        key, campaign = str(args.get("key", "")), str(args.get("campaign", ""))
        number, gateway = str(args.get("number", "")), str(args.get("gateway", ""))
        mode = str(args.get("mode", "progressive"))
        if not (_SAFE.fullmatch(key) and _SAFE.fullmatch(campaign) and _SAFE.fullmatch(gateway)):
            raise CommandError("key, campaign and gateway: letters, digits, . _ : + -")
        if not _NUMBER.fullmatch(number):
            raise CommandError(f"{number!r} is not a number to dial")
        if mode not in ("progressive", "predictive", "agentless", "preview"):
            raise CommandError(f"unknown mode {mode!r}")
        message = str(args.get("message") or "")
        if message and not _MESSAGE.fullmatch(message):
            raise CommandError("the message is a sound file path or URL without spaces")
        leg = str(uuidlib.uuid4())
        call = CampaignCall(
            key, leg, campaign, number, gateway, mode, str(args.get("queue") or ""),
            max(5, min(int(args.get("ring_seconds") or 25), 120)),
            str(args.get("caller_id") or ""), bool(args.get("amd")),
            str(args.get("machine_action") or "hangup"), message,
            dict(args.get("data") or {}), str(args.get("flow") or ""))  # fmt: skip
        if call.flow and not _SAFE.fullmatch(call.flow):
            raise CommandError(f"flow {call.flow!r}: letters, digits, . _ : + -")
        # claimed only once the request is known good: a refused one may be sent again
        if not self.redis.set(f"ipbx:attempt:{key}", f"{self.switch}:{leg}", nx=True, ex=KEY_TTL):
            return {"key": key, "duplicate": True}
        pacer = self.pacers.get(campaign)
        cps = float(args.get("calls_per_second") or 5.0)
        limit = int(args.get("max_concurrent") or 30)
        if pacer is None or pacer.bucket is None or pacer.bucket.rate != cps or (
                pacer.cap is not None and pacer.cap.limit != limit):  # fmt: skip
            in_progress = pacer.in_progress if pacer is not None else {}
            pacer = Pacer(TokenBucket(cps), ConcurrencyCap(limit))
            for gw, n in in_progress.items():  # calls still up keep their places
                for _ in range(n):
                    pacer.cap.acquire()  # type: ignore[union-attr]
                pacer.in_progress[gw] = n
            self.pacers[campaign] = pacer
        self.waiting.setdefault(campaign, deque()).append(call)
        self.calls[leg] = call
        self._wake.set()
        return {"key": key, "leg": leg, "queued": True}

    def floor(self, args: dict[str, Any]) -> dict[str, Any]:
        """`campaign_floor`: the campaign's agents and calls now."""
        campaign, queue = str(args.get("campaign", "")), str(args.get("queue", ""))
        acd = self.acd.acd
        members = [acd.agents[a] for a in acd.members.get(queue, ()) if a in acd.agents]
        free = sum(1 for a in members if a.state is AgentState.READY)
        busy = sum(1 for a in members if a.state in (AgentState.RESERVED, AgentState.ON_CALL,
                                                     AgentState.WRAP_UP))  # fmt: skip
        mine = [c for c in self.calls.values() if c.campaign == campaign]
        return {"free_agents": free, "busy_agents": busy,
                "ringing": sum(1 for c in mine if c.answered is None),
                "waiting": sum(1 for c in mine if c.answered is not None and not c.offered
                               and c.mode != "agentless" and not c.result),
                "connected": sum(1 for c in mine if c.answered is not None and
                                 c.mode == "agentless"),
                "queued": len(self.waiting.get(campaign, ()))}  # fmt: skip

    # --- the pacer greenlet ----------------------------------------------------------------
    def run_pacer(self) -> None:
        """Place calls when the caps allow; asleep while nothing waits (dial and a call's
        end wake it)."""
        while True:
            now = time.monotonic()
            self.pace(now)
            self._wake.clear()
            self._wake.wait(timeout=self._next_wake(now))

    def _next_wake(self, now: float) -> float | None:
        """Seconds until a queued call may go (None: nothing queued; a full cap waits for a
        call's end, polled every 50 ms)."""
        soonest: float | None = None
        for campaign, queue in self.waiting.items():
            if not queue:
                continue
            at = self.pacers[campaign].next_dial_at(queue[0].gateway, now)
            wait = 0.05 if at is None else max(0.0, at - now)
            soonest = wait if soonest is None else min(soonest, wait)
        return soonest

    def pace(self, now: float) -> int:
        """Place every queued call the caps allow now; how many went out."""
        placed = 0
        for campaign, queue in self.waiting.items():
            pacer = self.pacers[campaign]
            while queue and pacer.may_dial(queue[0].gateway, now):
                call = queue.popleft()
                if call.leg not in self.calls:  # stopped meanwhile
                    continue
                pacer.started(call.gateway, now)
                self._originate(call)
                placed += 1
        return placed

    def _originate(self, call: CampaignCall) -> None:
        variables = ",".join(v for v in (
            f"origination_uuid={call.leg}", f"originate_timeout={call.ring_seconds}",
            f"origination_caller_id_number={call.caller_id}" if call.caller_id else "",
            f"ipbx_attempt={call.key}", f"ipbx_campaign={call.campaign}",
            "ignore_early_media=true") if v)  # fmt: skip
        target = "amd,park inline" if call.amd else "&park()"
        call.placed = time.time()
        try:
            job = self.bgapi_nowait(f"originate {{{variables}}}sofia/gateway/{call.gateway}/"
                                    f"{call.number} {target}")  # fmt: skip
        except Exception as exc:  # the switch is gone: the attempt failed, nothing rang
            log.warning("campaign %s: attempt %s not placed: %s", call.campaign, call.key, exc)
            self._finish(call, "failed", "SWITCH_NOT_CONNECTED")
            return
        self.jobs[job] = call.leg
        call.placed_job = job
        self.originated += 1
        self.record({"key": call.key, "started_at": call.placed, "gateway": call.gateway,
                     "call_uuid": call.leg})  # fmt: skip
        log.info("campaign %s: dialing %s (attempt %s, leg %s)", call.campaign, call.number,
                 call.key, call.leg)  # fmt: skip

    # --- switch and ACD (dispatch greenlet) ------------------------------------------------
    def job_done(self, job: str, body: str) -> bool:
        leg = self.jobs.pop(job, None)
        if leg is None:
            return False
        call = self.calls.get(leg)
        if call is not None and not body.startswith("+OK"):
            cause = body.lstrip("-").replace("ERR", "").strip() or "NORMAL_CLEARING"
            self._finish(call, CAUSES.get(cause, "failed"), cause)
        return True

    def answered(self, leg: str, at: float) -> bool:
        """The far end answered (LegAnswered)."""
        call = self.calls.get(leg)
        if call is None or call.answered is not None:
            return call is not None
        call.answered = at
        self.record({"key": call.key, "answered_at": at,
                     "ring_seconds": round(at - (call.placed or at), 3)})  # fmt: skip
        if call.amd:
            gevent.spawn(self._await_amd, call)
        else:
            self._connect(call)
        return True

    def _await_amd(self, call: CampaignCall) -> None:
        deadline = time.time() + AMD_WAIT
        verdict = ""
        while time.time() < deadline and call.leg in self.calls:
            try:
                verdict = self.api(f"uuid_getvar {call.leg} amd_result").strip()
            except CommandError:
                return  # the leg is gone
            if verdict and verdict != "_undef_":
                break
            gevent.sleep(0.25)
        self.post(AmdVerdict(call.leg, verdict if verdict != "_undef_" else ""))

    def amd_verdict(self, verdict: AmdVerdict) -> None:
        call = self.calls.get(verdict.leg)
        if call is None:
            return
        if verdict.result == "MACHINE":
            call.result = "machine"
            if call.machine_action == "message" and call.message:
                self._play_and_hang_up(call)
            else:
                self._hang_up(call)
            return
        self._connect(call)  # HUMAN, NOTSURE or no verdict: treat as a person

    def _connect(self, call: CampaignCall) -> None:
        if call.mode == "agentless" and call.flow and self.ivr_socket:
            call.result = "answered"  # the IVR runs the flow (a survey …): BIZ-5
            self.bgapi_nowait(f"uuid_setvar {call.leg} ipbx_campaign_flow {call.flow}")
            self.bgapi_nowait(f"uuid_transfer {call.leg} 'socket:{self.ivr_socket} async full'"
                              " inline")  # fmt: skip
            return
        if call.mode == "agentless" or not call.queue:
            call.result = "answered"
            self._play_and_hang_up(call)
            return
        if call.queue not in self.acd.acd.policies:
            log.warning("campaign %s: queue %s unknown to the ACD", call.campaign, call.queue)
            call.result = "abandoned"
            self._play_and_hang_up(call)
            return
        now = time.time()
        attached = {"campaign": call.campaign, "number": call.number, **call.data}
        self.acd.contact_arrived(Contact(call.leg, call.queue, now, priority=PRIORITY,
                                         attached=attached, ani=call.number))  # fmt: skip
        gevent.spawn_later(GRACE_SECONDS, self.post, GraceOver(call.leg))

    def campaign_of(self, contact_id: str) -> str:
        """The campaign of a contact the ACD has (a campaign call's leg), or ""."""
        call = self.calls.get(contact_id)
        return call.campaign if call is not None else ""

    def offered(self, contact_id: str) -> None:
        call = self.calls.get(contact_id)
        if call is not None:
            call.offered = True

    def grace_over(self, leg: str) -> None:
        call = self.calls.get(leg)
        if call is None or call.offered or call.result:
            return
        call.result = "abandoned"
        log.info("campaign %s: %s answered, no agent within %.0f s: abandoned", call.campaign,
                 call.number, GRACE_SECONDS)  # fmt: skip
        self.acd.apply(self.acd.acd.abandon(leg, time.time()))
        self._play_and_hang_up(call)

    def agent_took(self, contact_id: str, agent: str) -> None:
        """The ACD's ContactFinished(answered) for a campaign call."""
        call = self.calls.get(contact_id)
        if call is not None and not call.result:
            call.agent, call.result = agent, "answered"
            self.record({"key": call.key, "agent": agent})

    def answers(self, leg: str, variables: dict[str, Any]) -> None:
        """An agentless flow finished: its variables (a survey's answers) go to the log."""
        call = self.calls.get(leg)
        if call is not None:
            kept = {k: v for k, v in variables.items() if isinstance(v, str | int | float)}
            self.record({"key": call.key, "answers": kept})

    def hung_up(self, leg: str, cause: str, at: float) -> bool:
        call = self.calls.get(leg)
        if call is None:
            return False
        if call.answered is None:
            self._finish(call, CAUSES.get(cause, "failed"), cause, at)
        else:
            self._finish(call, call.result or "answered", cause, at)
        return True

    # --- helpers ---------------------------------------------------------------------------
    def _play_and_hang_up(self, call: CampaignCall) -> None:
        if not call.message:
            self._hang_up(call)
            return
        self.bgapi_nowait(f"uuid_transfer {call.leg} 'playback:{call.message},hangup' inline")

    def _hang_up(self, call: CampaignCall) -> None:
        self.bgapi_nowait(f"uuid_kill {call.leg} NORMAL_CLEARING")

    def _finish(self, call: CampaignCall, result: str, cause: str,
                at: float | None = None) -> None:  # fmt: skip
        if self.calls.pop(call.leg, None) is None:
            return
        at = time.time() if at is None else at
        pacer = self.pacers.get(call.campaign)
        if pacer is not None and call.placed is not None and pacer.in_progress.get(call.gateway):
            pacer.ended(call.gateway)
            self._wake.set()
        talk = round(at - call.answered, 3) if call.answered is not None else None
        ring = round((call.answered or at) - call.placed, 3) if call.placed else None
        self.record({"key": call.key, "ended_at": at, "result": result, "hangup_cause": cause,
                     "talk_seconds": talk, "ring_seconds": ring, "agent": call.agent})  # fmt: skip
        log.info("campaign %s: %s → %s (%s)", call.campaign, call.number, result, cause)

    def stop(self, campaign: str) -> int:
        """Forget the campaign's calls not yet placed (the pacer will not dial them)."""
        queue = self.waiting.pop(campaign, deque())
        for call in queue:
            self.calls.pop(call.leg, None)
            self.redis.delete(f"ipbx:attempt:{call.key}")  # never dialed: may be sent again
        return len(queue)


@dataclass(frozen=True, slots=True)
class FlowAnswers:
    """Posted by the IVR greenlet when a campaign call's flow ends."""

    leg: str
    variables: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GraceOver:
    leg: str


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    leg: str
    result: str
