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
"duplicate" and dials nothing; and it is marked placed (compare-and-set, waited for) before
its originate leaves, so after a `kill -9` of icm in any gap the next icm never dials it
again: it answers "maybe dialled" with whether the leg is still on the switch (issue 21).
`campaign_floor` tells the pacer what the campaign has now
(free and busy agents of its queue, calls ringing, waiting, connected).

Runs in icm: `dial` and `floor` in command greenlets, the pacer in its own greenlet,
everything else in the dispatch greenlet (switch events, ACD outputs).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.monkey

from icm.bus.commands import CommandError
from icm.daemon.campaigns.call import CampaignCall
from icm.daemon.campaigns.commands import CampaignCommands
from icm.daemon.campaigns.constants import (
    AMD_WAIT,
    BROKEN_WITHIN,
    DETECTION,
    GRACE_SECONDS,
    KILL_AFTER_ORIGINATE,
    PRIORITY,
    REFUSED_LEGS_KEPT,
)
from icm.daemon.campaigns.messages import AmdVerdict, GraceOver, RingFirst, WithdrawPreviews
from icm.daemon.campaigns.previews import Previews
from icm.daemon.pending_jobs import PendingJobs
from icm.daemon.switch import CommandRefused
from icm.domain import commands as cmd
from icm.domain.acd.model import Contact
from outbound.domain.amd import APPS as DETECTION_APPS
from outbound.domain.amd import MODULES as DETECTION_MODULES
from outbound.domain.amd import SWITCH_FAILED
from outbound.domain.campaign_call_state import CallEvent, CallState, allows
from outbound.domain.dialling_rules import default_refusal
from outbound.domain.pacing import GatewayPacing, Pacer
from outbound.domain.retry import CAUSES

log = logging.getLogger(__name__)


class CampaignDialer(CampaignCommands, Previews):
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
        self.jobs: PendingJobs[str] = PendingJobs(f"campaigns {switch}")  # bgapi job -> leg
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
        # durable before the originate leaves: a key marked placed is never dialled again,
        # even by the next icm after a kill -9 in the gap below (issue 21)
        call.fire(CallEvent.DIAL)
        call.placed = time.time()
        if not self._mark_placed(call):
            return
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
        if self.originated == KILL_AFTER_ORIGINATE:
            _die_now()  # test-only: a kill -9 right after the originate left
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


def _amd_says(value: str) -> str:
    """mod_amd's amd_result: its verdict (HUMAN, MACHINE, NOTSURE), "" while unset."""
    return value if value != "_undef_" else ""


def _avmd_says(value: str) -> str:
    """mod_avmd's avmd_detect: TRUE once it heard a beep (a machine), else nothing yet."""
    return "MACHINE" if value == "TRUE" else ""


def _die_now() -> None:
    """Test-only fault (IPBX_TEST_KILL_AFTER_ORIGINATE): let the originate reach the switch
    without yielding to any other greenlet (nothing else icm would do gets done), then die
    by SIGKILL."""
    gevent.monkey.get_original("time", "sleep")(0.3)
    os.kill(os.getpid(), signal.SIGKILL)
