"""The campaign dialler's bus commands (a part of CampaignDialer, mixed in): `campaign_dial`
claims an attempt's key and queues the call, `campaign_floor` tells the pacer what the campaign
has now."""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections import deque
from typing import Any

import gevent
import gevent.event

from icm.bus.commands import CommandError
from icm.daemon.campaigns.call import CampaignCall
from icm.daemon.campaigns.constants import _MESSAGE, _NUMBER, _SAFE, AVMD_WINDOW, KEY_TTL
from icm.daemon.campaigns.messages import PreviewsDue
from icm.domain import commands as cmd
from icm.domain.acd.model import AgentState
from outbound.domain.amd import METHODS as DETECTION_METHODS
from outbound.domain.amd import NoDetection, choose
from outbound.domain.campaign_call_state import CallState
from outbound.domain.pacing import ConcurrencyCap, GatewayPacing, Pacer, TokenBucket

log = logging.getLogger("icm.daemon.campaigns.dialer")
# compare-and-set: take over a key an earlier icm claimed but never dialled (see _claim)
_TAKE_OVER = """if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) and 1 else return 0 end"""
# compare-and-set: queued (or lost with a Redis restart) -> placed, before the originate
_PLACE = """local held = redis.call('GET', KEYS[1])
if held == ARGV[1] or not held then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end
return 0"""


class CampaignCommands:
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
        taken = self._claim(key, leg)
        if taken is not None:
            return taken
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

    def _claim(self, key: str, leg: str) -> dict[str, Any] | None:
        """Claim the attempt's key for `leg` (None), or the reply for a key already taken.
        The key's value says `queued|placed|done:<switch>:<leg>`:
        - a call of this icm (queued or up): a plain duplicate;
        - queued by an earlier icm of this switch that stopped with the call still queued:
          taken over (compare-and-set) — nothing rang;
        - placed (or done) by an earlier icm that died: **maybe dialled** — never dialled
          again; the reply says whether its leg is still on the switch (`live`; None: the
          switch cannot be asked now), so the pacer closes the attempt once it is gone."""
        name = f"ipbx:attempt:{key}"
        if self.redis.set(name, f"queued:{self.switch}:{leg}", nx=True, ex=KEY_TTL):
            return None
        held = self.redis.get(name)
        held = held.decode() if isinstance(held, bytes) else str(held or "")
        state, _, rest = held.partition(":")
        held_switch, _, held_leg = rest.partition(":")
        duplicate: dict[str, Any] = {"key": key, "duplicate": True}
        if held_leg in self.calls:
            return {**duplicate, "leg": held_leg, "live": True}  # here, still going
        if held_switch != self.switch:
            return duplicate  # another switch's icm has it
        if state == "queued":  # compare-and-set: only if it still says what we read
            new = f"queued:{self.switch}:{leg}"
            if self.redis.eval(_TAKE_OVER, 1, name, held, new, KEY_TTL):
                return None
            return duplicate
        live = self._leg_live(held_leg)
        log.warning(
            "campaign attempt %s was %s by an earlier icm (leg %s, %s on the switch): "
            "maybe dialled, never dialled again",
            key,
            state,
            held_leg,
            {True: "still up", False: "gone", None: "not known"}[live],
        )
        return {**duplicate, "maybe_dialled": True, "leg": held_leg, "live": live}

    def _leg_live(self, leg: str) -> bool | None:
        """Is `leg` up on the switch (None: it cannot be asked now)?"""
        try:
            return self.api(cmd.LegExists(leg)).strip() == "true"
        except Exception as exc:
            log.warning("icm %s: leg %s not looked up: %s", self.switch, leg, exc)
            return None

    def _mark_placed(self, call: CampaignCall) -> bool:
        """Mark the key placed — waited for, before the originate leaves (a crash after it
        must not let the next icm dial the key again). False: not dialled — the key is
        someone else's (the call is dropped), or Redis cannot be reached (the attempt fails
        with nothing rung, and is retried by the campaign's rules)."""
        name, mine = f"ipbx:attempt:{call.key}", f":{self.switch}:{call.leg}"
        try:
            marked = self.redis.eval(_PLACE, 1, name, f"queued{mine}", f"placed{mine}", KEY_TTL)
        except Exception as exc:
            log.error(
                "campaign %s: %s not marked placed (%s): not dialled", call.campaign, call.key, exc
            )
            self._finish(call, "failed", "ATTEMPT_NOT_MARKED")
            self._end_agent_side(call)
            return False
        if not marked:
            log.error(
                "campaign %s: %s is no longer this call's: not dialled", call.campaign, call.key
            )
            self.calls.pop(call.leg, None)  # forgotten: its attempt is not this call's
            self._release(call)
            self._end_agent_side(call)
            return False
        return True

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


def _positive(value: Any, kind: type[int] | type[float]) -> Any:
    """A positive number from the request, or None (no cap)."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
