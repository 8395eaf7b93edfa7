"""The flow editor's simulator: a flow (its published version, or the draft on screen) run
through the text front-end, one conversation per browser session. A draft is simulated as
if published (version 0); the sub-flows it calls run their published versions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from icm import client as icm
from icm.bus.commands import CommandError
from ivr.engine.interpreter import FlowNotFound, Interpreter, Run
from ivr.engine.text import Reply, TextConversation
from ivr.flow_source import DbFlows
from ivr.services import FlowServices

SESSION_KEY = "ivr_simulations"
KEPT = 5  # conversations kept per browser session


class DraftFlows(DbFlows):
    """DbFlows, with one flow's draft standing in as its published version 0."""

    def __init__(self, flow: str, graph: Mapping[str, Any] | None) -> None:
        super().__init__()
        self.draft_flow, self.draft = flow, graph

    def graph(self, flow: str, version: int) -> Mapping[str, Any]:
        if flow == self.draft_flow and version == 0 and self.draft is not None:
            return self.draft
        return super().graph(flow, version)

    def published(self, flow: str) -> tuple[int, Mapping[str, Any]] | None:
        if flow == self.draft_flow and self.draft is not None:
            return 0, self.draft
        return super().published(flow)


def icm_value(metric: str, queue: str) -> float:
    """Live ICM values for simulated runs: asked of icm over the bus."""
    return icm.queue_metric(settings.IPBX_SWITCH_NAME, metric, queue, timeout=3)


def _conversation(flow: str, draft: Mapping[str, Any] | None) -> TextConversation:
    return TextConversation(Interpreter(DraftFlows(flow, draft)), FlowServices(icm_value))


def _reply(sim_id: str, run: Run, reply: Reply) -> dict[str, Any]:
    return {
        "session": sim_id,
        "messages": reply.messages,
        "waiting_for": reply.waiting_for,
        "choices": list(reply.choices),
        "outcome": reply.outcome,
        "node": reply.node,
        "flow": run.flow,
        "version": run.version,
        "finished": run.finished,
    }


def start(
    session: Any, flow: str, draft: Mapping[str, Any] | None, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """Begin a conversation; FlowNotFound when there is nothing to run."""
    run, reply = _conversation(flow, draft).start(flow, dict(variables))
    sim_id = uuid.uuid4().hex
    sims = dict(session.get(SESSION_KEY) or {})
    while len(sims) >= KEPT:
        sims.pop(next(iter(sims)))
    sims[sim_id] = {"flow": flow, "draft": draft, "run": run.to_dict()}
    session[SESSION_KEY] = sims
    return _reply(sim_id, run, reply)


class SimulationNotFound(LookupError):
    """No conversation with that id in this browser session (expired or never started)."""


def answer(session: Any, sim_id: str, text: str) -> dict[str, Any]:
    """The user's next message in conversation `sim_id`."""
    sims = dict(session.get(SESSION_KEY) or {})
    stored = sims.get(sim_id)
    if stored is None:
        raise SimulationNotFound(sim_id)
    run = Run.from_dict(stored["run"])
    reply = _conversation(stored["flow"], stored["draft"]).answer(run, text)
    stored["run"] = run.to_dict()
    session[SESSION_KEY] = sims
    return _reply(sim_id, run, reply)


__all__ = ["CommandError", "FlowNotFound", "SimulationNotFound", "answer", "start"]
