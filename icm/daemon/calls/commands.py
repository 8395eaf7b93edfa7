"""Bus commands on any live call (from the live calls page, the API and the flow simulator):
hang up a call, hold a leg, originate a call, read a live queue figure.

Each runs in a command greenlet and answers at once; a refusal is a CommandError fit to show
a user. Agents' own calls go through icm.daemon.acd.agent_calls instead (they never name a channel).
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from django.conf import settings

from icm.bus.commands import CommandError
from icm.daemon.acd.queue_figures import QueueFigures
from icm.daemon.pending_jobs import PendingJobs
from icm.daemon.switch import SwitchNotConnected
from icm.domain import commands as cmd
from icm.domain.calls import LiveCalls
from icm.domain.originate_policy import OriginateNotAllowed, originate_target

log = logging.getLogger(__name__)


class CallCommands:
    def __init__(
        self,
        switch: str,
        model: LiveCalls,
        figures: QueueFigures,
        api: Callable[[cmd.SwitchCommand], str],
        bgapi: Callable[[cmd.SwitchCommand], str],
    ) -> None:
        self.switch = switch
        self.model = model
        self.figures = figures
        self.api = api
        self.bgapi = bgapi
        self.jobs: PendingJobs[str] = PendingJobs(f"calls {switch}")  # Job-UUID -> what for

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "hangup": self.hangup,
            "originate": self.originate,
            "hold": self.hold,
            "queue_metric": self.queue_metric,
        }

    def hangup(self, args: dict[str, Any]) -> dict[str, Any]:
        uuid = str(args.get("uuid", ""))
        call = self.model.call(self.switch, uuid) or self.model.call_of_leg(self.switch, uuid)
        if call is None:
            raise CommandError(f"no live call {uuid!r} on switch {self.switch}")
        cause = str(args.get("cause") or "NORMAL_CLEARING")
        for leg in call.legs:
            if leg.hungup_at is None:
                try:
                    self.api(cmd.HangupLeg(leg.uuid, cause))
                except CommandError as exc:
                    # Killing one leg often takes its bridged partner down with it.
                    if "No such channel" not in str(exc):
                        raise
        return {"call_uuid": call.call_uuid}

    def queue_metric(self, args: dict[str, Any]) -> dict[str, Any]:
        """A live queue figure for the flow simulator (see QueueFigures.metric)."""
        try:
            value = self.figures.metric(str(args.get("metric", "")), str(args.get("queue", "")))
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from exc
        return {"value": value}

    def hold(self, args: dict[str, Any]) -> dict[str, Any]:
        uuid = str(args.get("uuid", ""))
        if self.model.call_of_leg(self.switch, uuid) is None:
            raise CommandError(f"no live leg {uuid!r} on switch {self.switch}")
        self.api(cmd.HoldLeg(uuid, bool(args.get("hold", True))))
        return {"uuid": uuid}

    def originate(self, args: dict[str, Any]) -> dict[str, Any]:
        """Start a call in the background (bgapi: ringing must not block the event socket)."""
        try:  # icm checks its bus commands itself: the contexts a loopback endpoint reaches too
            originate_target(
                str(args.get("endpoint", "")),
                str(args.get("context") or ""),
                settings.ICM_ORIGINATE_CONTEXTS,
            )
        except OriginateNotAllowed as exc:
            raise CommandError(str(exc)) from exc
        call_uuid = str(uuidlib.uuid4())
        try:
            command = cmd.OriginateCall(
                endpoint=str(args["endpoint"]),
                destination=str(args["destination"]),
                context=str(args.get("context") or "default"),
                caller_id_number=str(args.get("caller_id_number") or ""),
                uuid=call_uuid,
            )
        except KeyError as exc:
            raise CommandError(f"originate needs {exc.args[0]}") from exc
        try:
            reply = self.bgapi(command)
        except SwitchNotConnected as exc:
            raise CommandError(f"switch {self.switch} is not connected") from exc
        if not reply.startswith("+OK"):
            raise CommandError(reply.lstrip("-").strip() or "originate refused")
        job = reply.rsplit(" ", 1)[-1]
        self.jobs[job] = f"originate {call_uuid} {command.endpoint} -> {command.destination}"
        return {"uuid": call_uuid, "job_uuid": job}

    def job_done(self, job_uuid: str, result: str) -> None:
        """A BACKGROUND_JOB of one of our originates finished: log how it went."""
        purpose = self.jobs.pop(job_uuid, None)
        if purpose is None:
            return
        if result.startswith("-"):
            log.warning("icm %s: %s failed: %s", self.switch, purpose, result)
        else:
            log.info("icm %s: %s: %s", self.switch, purpose, result)
