"""The recording feature's contract: the switch's RECORD_STOP, live listen, the desktop's
recording buttons and what the agent's view shows of its recording."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icm.bus.commands import CommandError
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.feature import Command, Contract
from icm.daemon.recording.live_listen import LiveTaps
from icm.daemon.recording.recorder import ACTIONS, Recorder
from icm.domain import events as ev
from icm.domain.calls import CallRecord


def contract(
    recorder: Recorder,
    taps: LiveTaps,
    acd: AcdRuntime,
    call_of_leg: Callable[[str], CallRecord | None],
    view_changed: Callable[[str], None],
) -> Contract:
    def stopped(event: ev.RecordingStopped) -> None:
        if taps.stopped(event.path):
            return
        rec = recorder.active.get(event.path)
        done = recorder.stopped(
            event.uuid,
            event.path,
            event.at.timestamp(),
            event.cause,
            event.milliseconds,
            facts=event.facts,
        )
        if done and rec:
            view_changed(rec.agent)

    def action(name: str) -> Command:
        def run(args: dict[str, Any]) -> dict[str, Any]:
            agent = str(args.get("agent", ""))
            if acd.agent(agent) is None:
                raise CommandError(f"unknown agent {agent!r}")
            leg = acd.agent_leg.get(agent, "")
            result = recorder.command(
                name, agent, leg, call_of_leg(leg), acd.queue_of_agent(agent), args
            )
            view_changed(agent)  # the desktop shows the recording's state
            return result

        return run

    return Contract(
        "recording",
        handles=((ev.RecordingStopped, stopped),),
        commands={"live_listen": taps.start, "live_listen_stop": taps.stop},
        agent_view=lambda agent_id: {
            "recording": recorder.state_of(acd.agent_leg.get(agent_id, ""))
        },
        agent_actions={name: action(name) for name in ACTIONS},
    )
