"""Previews and campaign call-backs: the agent first (a part of CampaignDialer, mixed in; runs
in the consumer greenlet). A preview is shown to a free agent of its queue, who calls or
skips it; a call-back rings its agent before the customer is dialled."""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import gevent
import gevent.event

from icm.bus.commands import CommandError
from icm.daemon.campaigns.call import CampaignCall
from icm.daemon.campaigns.constants import PREVIEW_LIMIT
from icm.daemon.campaigns.messages import PreviewAction, PreviewsDue, PreviewTimeout
from icm.domain import commands as cmd
from icm.domain.acd.model import AgentState
from outbound.domain.campaign_call_state import CallEvent, allows

log = logging.getLogger("icm.daemon.campaigns.dialer")


class Previews:
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
