"""Campaign calls on the switch (issue 9): Celery's pacer asks icm over the bus to dial an
attempt (`campaign_dial`, with its idempotency key); icm paces the originates (calls per
second and calls at once per campaign: outbound.domain.pacing), runs answering-machine
detection when asked, then:
- a machine: hangs up, or leaves the campaign's message;
- agentless: plays the message and hangs up;
- progressive / predictive: hands the answered call to the campaign queue's agents through
  the ACD, at the front; no agent offered it within the 2 s grace → **abandoned**: withdrawn,
  the message played, hung up.
Every step is written to the attempt log by icm's persister (`outbound.attempt_store`).
Each call's state is an outbound.domain.campaign_call_state.CallState, moved only through
that pure machine's transitions; the attempt's result is its state's.

Detection (issue 17) is whatever the switch has: icm asks `module_exists` for mod_amd and
mod_avmd once a connection (`switch_connected`; `campaign_floor` carries the answer to the
web) and refuses an attempt it cannot detect on (outbound.domain.amd). mod_amd (third party)
runs `amd` and sets `amd_result`; FreeSWITCH's own mod_avmd runs `avmd_start` and hears only
a voicemail's beep: `avmd_detect=TRUE` within the campaign's window is a machine, silence
until the window ends a person. A leg the switch hangs up while detection runs (its
"Invalid Application", DESTINATION_OUT_OF_ORDER, or gone within a second of its answer) is
the switch's failure, never an answered call: result `switch_failed`, and the campaign's
queued calls are dropped (the pacer pauses it).

An originate the switch refuses (`-ERR` job reply) before its leg's answer ends the attempt;
should that leg still show up answered (its events delivered after the reply), nobody
expects it and it is ended at once.

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
from icm.daemon.switch import CommandRefused
from icm.domain import commands as cmd
from icm.domain.acd.model import AgentState, Contact
from outbound.domain.amd import APPS as DETECTION_APPS
from outbound.domain.amd import METHODS as DETECTION_METHODS
from outbound.domain.amd import MODULES as DETECTION_MODULES
from outbound.domain.amd import SWITCH_FAILED, NoDetection, choose
from outbound.domain.campaign_call_state import CallEvent, CallState, allows, next_state
from outbound.domain.dialling_rules import default_refusal
from outbound.domain.pacing import ConcurrencyCap, GatewayPacing, Pacer, TokenBucket

log = logging.getLogger(__name__)
# the application that starts each detection module's work on an answered leg
DETECTION: dict[str, cmd.App] = {"amd": cmd.DetectAmd(), "avmd_start": cmd.StartAvmd()}
GRACE_SECONDS = 2.0
AMD_WAIT = 7.0  # s: mod_amd decides within total_analysis_time (5 s)
AVMD_WINDOW = 8.0  # s: mod_avmd's default window for a voicemail's beep (the campaign's)
# a leg gone this soon after its answer while detection runs was hung up by the switch
# (an application it does not have), not by a person or a machine
BROKEN_WITHIN = 1.0
KEY_TTL = 2 * 86400
PRIORITY = 1000  # campaign calls answered by a person go first
PREVIEW_LIMIT = 600  # s: a preview nobody acts on (no auto-dial set) is skipped after this
REFUSED_LEGS_KEPT = 1000  # legs whose originate was refused, remembered to end stray ones
_SAFE = re.compile(r"^[A-Za-z0-9_.:+-]{1,100}$")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_MESSAGE = re.compile(r"^[A-Za-z0-9_./:@%=+-]{1,250}$")
CAUSES = {
    "USER_BUSY": "busy",
    "NO_ANSWER": "no_answer",
    "NO_USER_RESPONSE": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer",
    "ORIGINATOR_CANCEL": "no_answer",
    "UNALLOCATED_NUMBER": "invalid",
    "INVALID_NUMBER_FORMAT": "invalid",
    "NO_ROUTE_DESTINATION": "invalid",
    "NUMBER_CHANGED": "invalid",
}


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
    agent: str = ""
    placed_job: str = ""
    attempt: int = 0
    agent_first: str = ""  # a call-back rings this agent before the customer is dialed
    preview_seconds: int = 0
    shown_to: str = ""  # preview: the agent looking at it
    shown_at: float | None = None
    slot: bool = False  # holds a place in the pacing caps
    agent_leg: str = ""  # an agent-first call: the agent's leg, on the line while it rings
    amd_method: str = ""  # the module detecting on this call: mod_amd, mod_avmd or none
    amd_window: float = AVMD_WINDOW
    stop_avmd: bool = False  # a person on a leg mod_avmd still listens to
    state: CallState = CallState.QUEUED  # outbound.domain.campaign_call_state

    @property
    def result(self) -> str:
        """answered, machine or abandoned once decided, else ""."""
        return self.state.result

    @property
    def from_preview(self) -> bool:
        """Its preview's agent pressed Call (or the preview time ran out)."""
        return self.state.from_preview

    def fire(self, event: CallEvent) -> CallState:
        """Move on by `event` (IllegalCallTransition when it cannot happen now)."""
        before, self.state = self.state, next_state(self.state, event)
        log.debug(
            "campaign %s: %s %s -[%s]-> %s", self.campaign, self.key, before, event, self.state
        )
        return self.state

    def attached(self) -> dict[str, Any]:
        """What the agent's screen pop shows of the contact (the web adds its history)."""
        return {
            **self.data,
            "campaign": self.campaign,
            "attempt": self.key,
            "attempt_no": self.attempt,
            "number": self.number,
        }


class CampaignDialer:
    def __init__(
        self,
        switch: str,
        redis: Any,
        bgapi_nowait: Callable[[cmd.SwitchCommand], str],
        api: Callable[[cmd.SwitchCommand], str],
        acd: Any,
        post: Callable[[object], None],
        record: Callable[[dict[str, Any]], None],
        ivr_socket: str = "",
        ring_agent: Callable[[CampaignCall, bool], str] = lambda call, reserved: "no phone",
        view_changed: Callable[[str], None] = lambda agent_id: None,
        number_refusal: Callable[[str], str] = default_refusal,
    ) -> None:
        self.switch = switch
        self.redis = redis
        self.bgapi_nowait = bgapi_nowait
        self.api = api
        self.acd = acd  # icm.daemon.acd.runtime.AcdRuntime
        self.post = post  # icm's inbox
        self.record = record  # an attempt-log update for the persister
        self.ivr_socket = ivr_socket  # host:port of icm's outbound socket (agentless flows)
        self.calls: dict[str, CampaignCall] = {}  # leg -> call
        self.jobs: dict[str, str] = {}  # bgapi job -> leg
        self.refused: dict[str, str] = {}  # leg -> cause its originate's job answered
        self.waiting: dict[str, deque[CampaignCall]] = {}  # campaign -> calls to place
        self.pacers: dict[str, Pacer] = {}
        self.gateways: dict[str, GatewayPacing] = {}  # a trunk's caps, shared by campaigns
        self.originated = 0
        self._wake = gevent.event.Event()
        self.previews: dict[str, deque[CampaignCall]] = {}  # campaign -> waiting for an agent
        self.previewing: dict[str, CampaignCall] = {}  # agent -> the preview it is shown
        # rings a call-back's (or a preview's) agent, then dials the customer:
        # icm.daemon.callbacks.booked; "" when ringing, else why the agent cannot take it
        self.ring_agent = ring_agent
        self.view_changed = view_changed  # republish a desktop
        # why the company's dialling rules refuse a number ("": allowed); icm wires the
        # database's rules, the safe defaults until then (issue 18 item 4)
        self.number_refusal = number_refusal
        self.stopped: set[str] = set()  # paused / stopped campaigns: nothing of theirs requeued
        self.modules: dict[str, bool] | None = None  # detection modules on this connection

    # --- what the switch can detect ------------------------------------------------------
    def switch_connected(self) -> None:
        """A (re)connect: the switch may be another build; learn its modules again."""
        self.modules = None
        self.detection()

    def detection(self) -> dict[str, bool] | None:
        """Which detection modules the switch has loaded (None: it cannot be asked now);
        two cheap api calls, then kept until the next connect or a leg the switch broke."""
        if self.modules is None:
            try:
                found = {
                    name: self.api(cmd.ModuleExists(name)).strip() == "true"
                    for name in DETECTION_MODULES
                }
            except Exception as exc:
                log.warning("icm %s: detection modules not known: %s", self.switch, exc)
                return None
            self.modules = found
            log.info("icm %s: answering-machine detection modules %s", self.switch, found)
        return self.modules

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
        refused = self.number_refusal(number)
        if refused:
            raise CommandError(f"refused by the dialling rules: {refused}")
        if mode not in ("progressive", "predictive", "agentless", "preview"):
            raise CommandError(f"unknown mode {mode!r}")
        message = str(args.get("message") or "")
        if message and not _MESSAGE.fullmatch(message):
            raise CommandError("the message is a sound file path or URL without spaces")
        leg = str(uuidlib.uuid4())
        call = CampaignCall(
            key,
            leg,
            campaign,
            number,
            gateway,
            mode,
            str(args.get("queue") or ""),
            max(5, min(int(args.get("ring_seconds") or 25), 120)),
            str(args.get("caller_id") or ""),
            bool(args.get("amd")),
            str(args.get("machine_action") or "hangup"),
            message,
            dict(args.get("data") or {}),
            str(args.get("flow") or ""),
        )
        if call.flow and not _SAFE.fullmatch(call.flow):
            raise CommandError(f"flow {call.flow!r}: letters, digits, . _ : + -")
        call.agent_first = str(args.get("agent") or "")
        if call.agent_first and not _SAFE.fullmatch(call.agent_first):
            raise CommandError(f"agent {call.agent_first!r}: letters, digits, . _ : + -")
        if (call.agent_first or mode == "preview") and not call.queue:
            raise CommandError("a preview or a call-back needs the campaign's queue")
        call.attempt = int(args.get("attempt") or 0)
        if call.amd and mode != "preview":  # a preview's agent is on the line: no detection
            call.amd_method = self._detector(str(args.get("amd_method") or "auto"))
            window = float(args.get("amd_window") or AVMD_WINDOW)
            call.amd_window = max(2.0, min(window, 30.0))
        call.preview_seconds = max(0, min(int(args.get("preview_seconds") or 0), 600))
        # claimed only once the request is known good: a refused one may be sent again
        if not self._claim(key, leg):
            return {"key": key, "duplicate": True}
        pacer = self.pacers.get(campaign)
        cps = float(args.get("calls_per_second") or 5.0)
        limit = int(args.get("max_concurrent") or 30)
        if (
            pacer is None
            or pacer.bucket is None
            or pacer.bucket.rate != cps
            or (pacer.cap is not None and pacer.cap.limit != limit)
        ):
            in_progress = pacer.in_progress if pacer is not None else {}
            pacer = Pacer(TokenBucket(cps), ConcurrencyCap(limit), self.gateways)
            pacer.in_progress.update(in_progress)  # calls still up keep their places
            pacer.cap.active = sum(in_progress.values())  # type: ignore[union-attr]
            self.pacers[campaign] = pacer
        self._gateway_limits(gateway, args)
        self.stopped.discard(campaign)
        self.calls[leg] = call
        if mode == "preview" and not call.agent_first:
            call.state = CallState.PREVIEW_WAITING
            self.previews.setdefault(campaign, deque()).append(call)
            self.post(PreviewsDue())
        else:
            self.waiting.setdefault(campaign, deque()).append(call)
            self._wake.set()
        return {"key": key, "leg": leg, "queued": True}

    def _detector(self, wanted: str) -> str:
        """The module this switch detects machines with for a campaign asking `wanted`;
        refuses the attempt (nothing is claimed or dialed) when there is none."""
        if wanted not in DETECTION_METHODS:
            raise CommandError(f"amd_method: one of {', '.join(DETECTION_METHODS)}")
        loaded = self.detection()
        if loaded is None:
            raise CommandError(f"switch {self.switch}: its detection modules are not known")
        try:
            return choose(wanted, loaded)
        except NoDetection as exc:
            raise CommandError(str(exc)) from exc

    def _claim(self, key: str, leg: str) -> bool:
        """Claim the attempt's key (False: it is taken). A key an earlier icm claimed but
        never dialed — it stopped with the call still queued — is taken over: nothing rang."""
        name = f"ipbx:attempt:{key}"
        if self.redis.set(name, f"queued:{self.switch}:{leg}", nx=True, ex=KEY_TTL):
            return True
        held = self.redis.get(name)
        held = held.decode() if isinstance(held, bytes) else str(held or "")
        if not held.startswith(f"queued:{self.switch}:"):
            return False
        if held.rsplit(":", 1)[-1] in self.calls:
            return False  # queued here, still to go
        # compare-and-set: only if it still says what we read
        return bool(
            self.redis.eval(_TAKE_OVER, 1, name, held, f"queued:{self.switch}:{leg}", KEY_TTL)
        )

    def _mark(self, call: CampaignCall, state: str) -> None:
        """Say in Redis what became of the key (placed, done), from a greenlet of its own:
        the callers never wait on a Redis round trip."""
        gevent.spawn(self._set_key, call.campaign, call.key, f"{state}:{self.switch}:{call.leg}")

    def _set_key(self, campaign: str, key: str, value: str | None) -> None:
        try:
            if value is None:
                self.redis.delete(f"ipbx:attempt:{key}")
            else:
                self.redis.set(f"ipbx:attempt:{key}", value, ex=KEY_TTL)
        except Exception as exc:
            log.warning("campaign %s: attempt %s not marked in Redis: %s", campaign, key, exc)

    def _gateway_limits(self, gateway: str, args: dict[str, Any]) -> None:
        """The trunk's caps as the database has them now (every campaign's request carries
        them); a changed cap keeps the calls it has up."""
        channels = _positive(args.get("gateway_max_channels"), int)
        cps = _positive(args.get("gateway_calls_per_second"), float)
        pacing = self.gateways.setdefault(gateway, GatewayPacing())
        if (pacing.cap.limit if pacing.cap else None) != channels:
            active = pacing.cap.active if pacing.cap else self._gateway_active(gateway)
            pacing.cap = ConcurrencyCap(channels) if channels else None
            if pacing.cap is not None:
                pacing.cap.active = active
        if (pacing.bucket.rate if pacing.bucket else None) != cps:
            pacing.bucket = TokenBucket(cps) if cps else None

    def _gateway_active(self, gateway: str) -> int:
        return sum(p.in_progress.get(gateway, 0) for p in self.pacers.values())

    def floor(self, args: dict[str, Any]) -> dict[str, Any]:
        """`campaign_floor`: the campaign's agents and calls now."""
        campaign, queue = str(args.get("campaign", "")), str(args.get("queue", ""))
        members = self.acd.queue_members(queue)
        free = sum(1 for a in members if a.state is AgentState.READY)
        busy = sum(
            1
            for a in members
            if a.state in (AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP)
        )
        mine = [c for c in self.calls.values() if c.campaign == campaign]
        return {
            "free_agents": free,
            "busy_agents": busy,
            "ringing": sum(1 for c in mine if c.answered is None),
            "waiting": sum(
                1
                for c in mine
                if c.state in (CallState.ANSWERED, CallState.DETECTING, CallState.WAITING_AGENT)
                and c.mode != "agentless"
            ),
            "connected": sum(1 for c in mine if c.answered is not None and c.mode == "agentless"),
            "queued": len(self.waiting.get(campaign, ())) + len(self.previews.get(campaign, ())),
            "detection": self.detection(),
        }

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
        for campaign, queue in list(self.waiting.items()):  # a dial / stop may change it
            pacer = self.pacers[campaign]
            while queue and pacer.may_dial(queue[0].gateway, now):
                call = queue.popleft()
                if call.leg not in self.calls:  # stopped meanwhile
                    continue
                pacer.started(call.gateway, now)
                call.slot = True
                if call.agent_first:  # (a call-back its agent could not take is dialed at once)
                    self.post(RingFirst(call.leg))  # the agent's phone first (consumer)
                else:
                    self._originate(call)
                placed += 1
        return placed

    def _originate(self, call: CampaignCall) -> None:
        variables = {
            "originate_timeout": str(call.ring_seconds),
            "ipbx_attempt": str(call.key),
            "ipbx_campaign": str(call.campaign),
            "ignore_early_media": "true",
        }
        # an agent-first call has its agent on the line: no machine detection
        app = DETECTION_APPS.get(call.amd_method) if not call.agent_leg else None
        then = (DETECTION[app], cmd.Park()) if app else (cmd.Park(),)
        call.fire(CallEvent.DIAL)
        call.placed = time.time()
        self._mark(call, "placed")  # about to ring something: never taken over from now on
        try:
            job = self.bgapi_nowait(
                cmd.OriginateCall(
                    endpoint=f"sofia/gateway/{call.gateway}/{call.number}",
                    uuid=call.leg,
                    caller_id_number=call.caller_id,
                    variables=variables,
                    then=then,
                )
            )
        except CommandRefused as exc:  # a number, caller ID or gateway the switch must not see
            log.error("campaign %s: attempt %s refused: %s", call.campaign, call.key, exc)
            self._finish(call, "failed", "INVALID_NUMBER_FORMAT")
            self._end_agent_side(call)
            return
        except Exception as exc:  # the switch is gone: the attempt failed, nothing rang
            log.warning("campaign %s: attempt %s not placed: %s", call.campaign, call.key, exc)
            self._finish(call, "failed", "SWITCH_NOT_CONNECTED")
            self._end_agent_side(call)
            return
        self.jobs[job] = call.leg
        call.placed_job = job
        self.originated += 1
        self.record(
            {
                "key": call.key,
                "started_at": call.placed,
                "gateway": call.gateway,
                "call_uuid": call.leg,
                **({"agent": call.agent} if call.agent else {}),
            }
        )
        log.info(
            "campaign %s: dialing %s (attempt %s, leg %s)",
            call.campaign,
            call.number,
            call.key,
            call.leg,
        )

    # --- switch and ACD (dispatch greenlet) ------------------------------------------------
    def job_done(self, job: str, body: str) -> bool:
        leg = self.jobs.pop(job, None)
        if leg is None:
            return False
        call = self.calls.get(leg)
        if call is not None and call.answered is not None:
            return True  # the leg answered: its own events say how it ends, not the job
        if call is not None and not body.startswith("+OK"):
            cause = body.lstrip("-").replace("ERR", "").strip() or "NORMAL_CLEARING"
            self.refused[leg] = cause  # its answer may still come (events after the reply)
            while len(self.refused) > REFUSED_LEGS_KEPT:
                del self.refused[next(iter(self.refused))]
            self._finish(call, CAUSES.get(cause, "failed"), cause)
            self._end_agent_side(call)
        return True

    def _end_agent_side(self, call: CampaignCall) -> None:
        """An agent-first call whose customer could not be dialed: nobody to talk to, the
        agent's leg ends (the agent wraps up)."""
        if not call.agent_leg:
            return
        try:
            self.bgapi_nowait(cmd.HangupLeg(call.agent_leg, "NORMAL_CLEARING"))
        except Exception as exc:
            log.warning(
                "campaign %s: agent leg %s not ended: %s", call.campaign, call.agent_leg, exc
            )

    def answered(self, leg: str, at: float) -> bool:
        """The far end answered (LegAnswered)."""
        call = self.calls.get(leg)
        if call is None:
            return self._stray_leg(leg)
        if call.answered is not None:
            return True
        call.answered = at
        call.fire(CallEvent.ANSWER)
        self.record(
            {"key": call.key, "answered_at": at, "ring_seconds": round(at - (call.placed or at), 3)}
        )
        if call.agent:  # its agent dialed it (a preview, a call-back): they are bridged
            call.fire(CallEvent.CONNECT)
            return True
        if call.amd_method == "mod_amd":
            call.fire(CallEvent.DETECT)
            gevent.spawn(self._poll, call, "amd_result", AMD_WAIT, _amd_says, "")
        elif call.amd_method == "mod_avmd":
            # mod_avmd hears only a voicemail's beep: a beep within the window is a machine
            # (and the beep is exactly when its message should start); none is a person,
            # who has waited the window out (the trade-off of the in-tree module)
            call.fire(CallEvent.DETECT)
            gevent.spawn(self._poll, call, "avmd_detect", call.amd_window, _avmd_says, "HUMAN")
        else:
            self._connect(call)
        return True

    def _stray_leg(self, leg: str) -> bool:
        """A leg whose attempt ended on its originate's refusal shows up answered after all
        (its events were delivered after the job's reply): nobody expects it, end it."""
        cause = self.refused.pop(leg, None)
        if cause is None:
            return False
        log.warning(
            "icm %s: campaign leg %s answered after its originate was refused (%s): ending it",
            self.switch,
            leg,
            cause,
        )
        self.bgapi_nowait(cmd.HangupLeg(leg, "ORIGINATOR_CANCEL"))
        return True

    def _poll(
        self,
        call: CampaignCall,
        variable: str,
        seconds: float,
        says: Callable[[str], str],
        otherwise: str,
    ) -> None:
        """Read the detection module's `variable` on the call's leg every 0.25 s for up to
        `seconds`, then post its verdict: what `says` makes of the value ("" for none yet),
        `otherwise` when the time ran out. Nothing is posted if the leg is gone."""
        deadline = time.time() + seconds
        verdict = ""
        while time.time() < deadline and call.leg in self.calls:
            try:
                verdict = says(self.api(cmd.GetVariable(call.leg, variable)).strip())
            except CommandError:
                return  # the leg is gone
            if verdict:
                break
            gevent.sleep(0.25)
        self.post(AmdVerdict(call.leg, verdict or otherwise))

    def amd_verdict(self, verdict: AmdVerdict) -> None:
        call = self.calls.get(verdict.leg)
        if call is None or call.state is not CallState.DETECTING:
            return
        log.info(
            "campaign %s: %s detected %s (%s)",
            call.campaign,
            call.number,
            verdict.result or "nothing",
            call.amd_method,
        )
        # a person: avmd's media bug would go on listening for the whole conversation
        call.stop_avmd = call.amd_method == "mod_avmd" and verdict.result != "MACHINE"
        if verdict.result == "MACHINE":
            call.fire(CallEvent.MACHINE)
            if call.machine_action == "message" and call.message:
                self._play_and_hang_up(call)
            else:
                self._hang_up(call)
            return
        call.fire(CallEvent.PERSON)
        self._connect(call)  # HUMAN, NOTSURE or no verdict: treat as a person

    def _connect(self, call: CampaignCall) -> None:
        if call.mode == "agentless" and call.flow and self.ivr_socket:
            call.fire(CallEvent.CONNECT)  # the IVR runs the flow (a survey …): BIZ-5
            self.bgapi_nowait(cmd.SetLegVariable(call.leg, "ipbx_campaign_flow", call.flow))
            self._inline(call, cmd.Socket(self.ivr_socket))
            return
        if call.mode == "agentless" or not call.queue:
            call.fire(CallEvent.CONNECT)
            self._play_and_hang_up(call)
            return
        if not self.acd.has_queue(call.queue):
            log.warning("campaign %s: queue %s unknown to the ACD", call.campaign, call.queue)
            call.fire(CallEvent.NO_AGENTS)
            self._play_and_hang_up(call)
            return
        call.fire(CallEvent.TO_AGENTS)
        if call.stop_avmd:
            self._inline(call, cmd.Park())  # parked again, for the ACD, without avmd
        now = time.time()
        attached = call.attached()
        self.acd.contact_arrived(
            Contact(
                call.leg, call.queue, now, priority=PRIORITY, attached=attached, ani=call.number
            )
        )
        gevent.spawn_later(GRACE_SECONDS, self.post, GraceOver(call.leg))

    def campaign_of(self, contact_id: str) -> str:
        """The campaign of a contact the ACD has (a campaign call's leg), or ""."""
        call = self.calls.get(contact_id)
        return call.campaign if call is not None else ""

    def offered(self, contact_id: str) -> None:
        call = self.calls.get(contact_id)
        if call is not None and allows(call.state, CallEvent.OFFER):
            call.fire(CallEvent.OFFER)

    def grace_over(self, leg: str) -> None:
        call = self.calls.get(leg)
        if call is None or not allows(call.state, CallEvent.GRACE_OVER):
            return  # an agent was offered it, or it is over
        call.fire(CallEvent.GRACE_OVER)
        log.info(
            "campaign %s: %s answered, no agent within %.0f s: abandoned",
            call.campaign,
            call.number,
            GRACE_SECONDS,
        )
        self.acd.abandon(leg, time.time())
        self._play_and_hang_up(call)

    def agent_took(self, contact_id: str, agent: str) -> None:
        """The ACD's ContactFinished(answered) for a campaign call."""
        call = self.calls.get(contact_id)
        if call is not None and allows(call.state, CallEvent.AGENT_TOOK):
            call.fire(CallEvent.AGENT_TOOK)
            call.agent = agent
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
            self.refused.pop(leg, None)  # gone without answering: nothing to end
            return False
        if call.answered is None:
            self._finish(call, CAUSES.get(cause, "failed"), cause, at)
        elif call.state is CallState.DETECTING and (
            cause == "DESTINATION_OUT_OF_ORDER" or at - call.answered < BROKEN_WITHIN
        ):
            self._detection_broke(call, cause, at)
        else:
            self._finish(call, call.result or "answered", cause, at)
        return True

    def _detection_broke(self, call: CampaignCall, cause: str, at: float) -> None:
        """The switch hung the leg up while its detection ran (FreeSWITCH logs "Invalid
        Application amd" when the module is missing): the switch failed, not the contact.
        Its queued calls are dropped (sent again when it runs: same keys) and the modules
        are asked again; the pacer pauses the campaign on this result."""
        log.error(
            "campaign %s: the switch hung %s up during %s detection (%s): its "
            "detection does not run; campaign calls held back",
            call.campaign,
            call.number,
            call.amd_method,
            cause,
        )
        self.modules = None
        self._finish(call, SWITCH_FAILED, cause, at)
        self.stop(call.campaign)

    # --- previews and call-backs: the agent first (consumer greenlet) ---------------------
    def assign_previews(self, now: float | None = None) -> int:
        """Show each waiting preview to a free agent of its queue (the one ready longest):
        the agent is reserved — no queue call rings it — until it calls or skips."""
        now = time.time() if now is None else now
        shown = 0
        for queue in self.previews.values():
            while queue:
                call = queue[0]
                if call.leg not in self.calls:
                    queue.popleft()
                    continue
                free = [
                    a
                    for a in self.acd.queue_members(call.queue)
                    if a.state is AgentState.READY
                    and a.agent_id not in self.previewing
                    and self.acd.extensions.get(a.agent_id)
                ]
                if not free:
                    break
                agent = min(free, key=lambda a: (a.state_since, a.agent_id))
                queue.popleft()
                call.fire(CallEvent.SHOW)
                call.shown_to, call.shown_at = agent.agent_id, now
                self.previewing[agent.agent_id] = call
                self.acd.offer_direct(agent.agent_id, call.leg, now, "preview")
                self.record({"key": call.key, "agent": agent.agent_id})
                log.info(
                    "campaign %s: %s shown to agent %s", call.campaign, call.number, agent.agent_id
                )
                gevent.spawn_later(
                    call.preview_seconds or PREVIEW_LIMIT,
                    self.post,
                    PreviewTimeout(call.leg, agent.agent_id),
                )
                shown += 1
        return shown

    def previews_waiting(self) -> bool:
        return any(self.previews.values())

    def offer_card(self, agent_id: str) -> dict[str, Any] | None:
        """The preview the agent is shown (its desktop's screen pop), or None."""
        call = self.previewing.get(agent_id)
        if call is None:
            return None
        return {
            "contact": call.leg,
            "queue": call.queue,
            "ani": call.number,
            "customer": "",
            "media": "preview",
            "priority": 0,
            "attached": {
                **call.attached(),
                "arrived": "preview",
                "preview_seconds": call.preview_seconds,
                "shown_at": call.shown_at,
            },
        }

    def preview_action(self, request: PreviewAction) -> None:
        call = self.previewing.get(request.agent)
        if call is None:
            request.result.set_exception(CommandError(f"agent {request.agent} has no preview"))
            return
        if call.from_preview:
            request.result.set_exception(CommandError(f"{call.number} is being dialed"))
            return
        if request.action == "skip":
            self._skip(call, request.agent, request.not_ready)
            request.result.set(
                {"agent": request.agent, "action": "preview_skip", "number": call.number}
            )
            return
        self._dial_preview(call)
        request.result.set(
            {"agent": request.agent, "action": "preview_call", "number": call.number}
        )

    def preview_timeout(self, timeout: PreviewTimeout) -> None:
        call = self.previewing.get(timeout.agent)
        if call is None or call.leg != timeout.leg or call.from_preview:
            return
        if not call.preview_seconds:  # nobody acted for PREVIEW_LIMIT: the agent is away
            log.warning(
                "campaign %s: agent %s left %s unanswered for %d s: skipped, the agent "
                "made not ready",
                call.campaign,
                timeout.agent,
                call.number,
                PREVIEW_LIMIT,
            )
            self._skip(call, timeout.agent, True, "no action on a preview")
            return
        log.info(
            "campaign %s: agent %s did not act on %s in %d s: dialing it",
            call.campaign,
            timeout.agent,
            call.number,
            call.preview_seconds,
        )
        self._dial_preview(call)

    def _skip(
        self, call: CampaignCall, agent_id: str, not_ready: bool, reason: str = "skipped"
    ) -> None:
        self.previewing.pop(agent_id, None)
        call.shown_to = ""
        if not_ready:
            self.acd.not_ready_after(agent_id, reason)
        log.info("campaign %s: agent %s skipped %s", call.campaign, agent_id, call.number)
        self._finish(call, "skipped", "")
        self.acd.direct_failed(agent_id, time.time(), "skipped")
        self.post(PreviewsDue())

    def _dial_preview(self, call: CampaignCall) -> None:
        """The agent pressed Call (or its preview time ran out): its phone rings first when
        the caps allow (at once, unless the trunk is full)."""
        call.agent_first = call.shown_to
        call.fire(CallEvent.CALL)
        self.waiting.setdefault(call.campaign, deque()).appendleft(call)
        self._wake.set()

    def ring_first(self, leg: str) -> None:
        """The pacer let a call-back or a preview go: ring its agent; a call-back whose agent
        cannot take it goes to the queue instead (a preview's agent is reserved for it)."""
        call = self.calls.get(leg)
        if call is None:
            return
        if not allows(call.state, CallEvent.RING_AGENT):
            log.warning(
                "campaign %s: %s is %s: its agent is not rung", call.campaign, leg, call.state
            )
            return
        preview = call.from_preview
        why = self.ring_agent(call, preview)
        if not why:
            call.fire(CallEvent.RING_AGENT)
            if self.previewing.get(call.shown_to) is call:
                del self.previewing[call.shown_to]  # its card is the ringing call's now
            self.record({"key": call.key, "agent": call.agent_first})
            self.view_changed(call.agent_first)  # the desktop: ringing, no longer Call / Skip
            return
        if preview:
            log.warning(
                "campaign %s: agent %s cannot be rung (%s); %s comes back later",
                call.campaign,
                call.agent_first,
                why,
                call.number,
            )
            agent_id = call.shown_to
            self._finish(call, "skipped", "AGENT_UNREACHABLE")
            self.acd.direct_failed(agent_id, time.time(), "no_answer")
            return
        log.info(
            "campaign %s: call-back of %s for agent %s: %s; to queue %s instead",
            call.campaign,
            call.number,
            call.agent_first,
            why,
            call.queue,
        )
        self._to_queue(call)

    def _to_queue(self, call: CampaignCall) -> None:
        """A call-back its agent cannot take: to the queue — in a preview campaign as a
        preview for whoever is free (its agents are busy with previews, so a dialed call
        would only be abandoned), else dialed now and handed to the queue's agents."""
        if call.mode == "preview":
            self._requeue_preview(call)
            return
        call.agent_leg = ""
        self._originate(call)

    def _requeue_preview(self, call: CampaignCall) -> None:
        """Back to the front of the campaign's previews, nobody's and holding no place in the
        caps (or dropped, sent again later, when the campaign was paused or stopped)."""
        self._release(call)
        call.fire(CallEvent.BACK_TO_PREVIEWS)
        call.agent_first, call.agent_leg, call.shown_to = "", "", ""
        call.shown_at = None
        if call.campaign in self.stopped:
            call.fire(CallEvent.DROP)
            self.calls.pop(call.leg, None)
            gevent.spawn(self._set_key, call.campaign, call.key, None)
            return
        self.previews.setdefault(call.campaign, deque()).appendleft(call)
        self.post(PreviewsDue())

    def dial_customer(self, leg: str, agent_id: str, agent_leg: str) -> None:
        """The agent answered its phone: dial the customer on `leg` through the campaign's
        gateway (the ACD bridges them when it answers: AcdRuntime.expect_customer)."""
        call = self.calls.get(leg)
        if call is None:
            self.bgapi_nowait(cmd.HangupLeg(agent_leg, "NORMAL_CLEARING"))
            return
        call.agent, call.shown_to, call.agent_leg = agent_id, "", agent_leg
        log.info(
            "campaign %s: agent %s on the line; dialing %s (attempt %s)",
            call.campaign,
            agent_id,
            call.number,
            call.key,
        )
        self._originate(call)

    def agent_missed(self, leg: str, cause: str) -> None:
        """The agent's phone was not answered: to the queue (in a preview campaign: shown
        again, to the first free agent)."""
        call = self.calls.get(leg)
        if call is None:
            return
        log.info(
            "campaign %s: agent %s did not answer (%s); %s to queue %s",
            call.campaign,
            call.agent_first,
            cause,
            call.number,
            call.queue,
        )
        self._to_queue(call)

    def agent_signed_out(self, agent_id: str) -> None:
        """An agent signed out while shown a preview: it goes to the next free agent."""
        call = self.previewing.pop(agent_id, None)
        if call is not None and call.leg in self.calls and not call.from_preview:
            self._requeue_preview(call)

    # --- helpers ---------------------------------------------------------------------------
    def _play_and_hang_up(self, call: CampaignCall) -> None:
        if not call.message:
            self._hang_up(call)
            return
        self._inline(call, cmd.Playback(call.message), cmd.Hangup())

    def _inline(self, call: CampaignCall, *apps: cmd.App) -> None:
        """Run `apps` (an inline dialplan) on the call's leg; a person's leg mod_avmd still
        listens to has it stopped first."""
        if call.stop_avmd:
            apps, call.stop_avmd = (cmd.StopAvmd(), *apps), False
        try:
            self.bgapi_nowait(cmd.TransferInline(call.leg, apps))
        except CommandRefused as exc:  # e.g. a message file the switch must not be given
            log.error("campaign %s: %s refused (%s); hanging up", call.campaign, call.leg, exc)
            self._hang_up(call)

    def _hang_up(self, call: CampaignCall) -> None:
        self.bgapi_nowait(cmd.HangupLeg(call.leg, "NORMAL_CLEARING"))

    def _finish(self, call: CampaignCall, result: str, cause: str, at: float | None = None) -> None:
        if self.calls.pop(call.leg, None) is None:
            return
        call.fire(CallEvent.FINISH)
        at = time.time() if at is None else at
        self._release(call)
        if call.shown_to and self.previewing.get(call.shown_to) is call:
            self.previewing.pop(call.shown_to)
        talk = round(at - call.answered, 3) if call.answered is not None else None
        if result == SWITCH_FAILED:
            talk = None  # nobody talked: the switch ended it
        ring = round((call.answered or at) - call.placed, 3) if call.placed else None
        self.record(
            {
                "key": call.key,
                "ended_at": at,
                "result": result,
                "hangup_cause": cause,
                "talk_seconds": talk,
                "ring_seconds": ring,
                "agent": call.agent,
            }
        )
        self._mark(call, "done")  # never taken over, even if it never rang (a skip)
        log.info("campaign %s: %s → %s (%s)", call.campaign, call.number, result, cause)

    def _release(self, call: CampaignCall) -> None:
        """Give back the call's place in the pacing caps."""
        pacer = self.pacers.get(call.campaign)
        if call.slot and pacer is not None and pacer.in_progress.get(call.gateway):
            pacer.ended(call.gateway)
            self._wake.set()
        call.slot = False

    def stop(self, campaign: str) -> int:
        """Forget the campaign's calls not yet placed (the pacer will not dial them)."""
        self.stopped.add(campaign)
        queue = self.waiting.pop(campaign, deque())
        queue.extend(self.previews.pop(campaign, deque()))
        going = deque(c for c in queue if c.from_preview)  # its agent pressed Call: it goes on
        if going:
            self.waiting[campaign] = going
        for call in queue:
            if call.from_preview:
                continue
            if allows(call.state, CallEvent.DROP):
                call.fire(CallEvent.DROP)
            self.calls.pop(call.leg, None)
            self.redis.delete(f"ipbx:attempt:{call.key}")  # never dialed: may be sent again
        shown = sum(
            1 for c in self.previewing.values() if c.campaign == campaign and not c.from_preview
        )
        if shown:
            self.post(WithdrawPreviews(campaign))
        return len(queue) - len(going) + shown

    def withdraw_previews(self, campaign: str) -> None:
        """The campaign paused or stopped: the previews its agents are shown go away (their
        attempts are sent again when it runs again); the agents are free again."""
        for agent_id, call in list(self.previewing.items()):
            if call.campaign != campaign or call.from_preview:
                continue
            del self.previewing[agent_id]
            call.fire(CallEvent.DROP)
            self.calls.pop(call.leg, None)
            self.acd.direct_failed(agent_id, time.time(), "cancelled")
            gevent.spawn(self._set_key, call.campaign, call.key, None)  # may be sent again


def _amd_says(value: str) -> str:
    """mod_amd's amd_result: its verdict (HUMAN, MACHINE, NOTSURE), "" while unset."""
    return value if value != "_undef_" else ""


def _avmd_says(value: str) -> str:
    """mod_avmd's avmd_detect: TRUE once it heard a beep (a machine), else nothing yet."""
    return "MACHINE" if value == "TRUE" else ""


_TAKE_OVER = """if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) and 1 else return 0 end"""


def _positive(value: Any, kind: type[int] | type[float]) -> Any:
    """A positive number from the request, or None (no cap)."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@dataclass(frozen=True, slots=True)
class FlowAnswers:
    """Posted by the IVR greenlet when a campaign call's flow ends."""

    leg: str
    variables: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PreviewsDue:
    """Previews wait for agents: show them to the free ones (consumer greenlet)."""


@dataclass(frozen=True, slots=True)
class WithdrawPreviews:
    campaign: str


@dataclass(frozen=True, slots=True)
class PreviewTimeout:
    leg: str
    agent: str


@dataclass(frozen=True, slots=True)
class RingFirst:
    """The pacer let a call-back (or a preview's dial) go: ring its agent (consumer)."""

    leg: str


@dataclass(slots=True)
class PreviewAction:
    """The agent's Call or Skip on the preview it is shown (a desktop command)."""

    agent: str
    action: str  # "call" or "skip"
    not_ready: bool = False
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


@dataclass(frozen=True, slots=True)
class GraceOver:
    leg: str


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    leg: str
    result: str
