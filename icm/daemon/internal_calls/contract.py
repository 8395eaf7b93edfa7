"""The internal calls feature's contract: the desktop's `call_agent`, its own legs, the
agents' view and screen pop, and the reject of an internal call ringing an agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icm.bus.commands import CommandError
from icm.daemon.acd.messages import AcdRequest
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.feature import Contract
from icm.daemon.internal_calls.calls import InternalCallRequest, InternalCalls
from icm.daemon.requests import in_consumer
from icm.domain.calls import LiveCalls


def contract(
    acd: AcdRuntime,
    model: LiveCalls,
    post: Callable[[object], None],
    timeout: float,
    view_changed: Callable[[str], None],
) -> Contract:
    calls = InternalCalls(acd.switch, acd, model, view_changed)

    def call_agent(args: dict[str, Any]) -> dict[str, Any]:
        """`agent_call {action: call_agent, target}`: ring a colleague (AG-8)."""
        agent = str(args.get("agent", ""))
        request = InternalCallRequest("call", agent, {"target": str(args.get("target", ""))})
        return in_consumer(post, request, timeout)

    def reject(request: AcdRequest) -> bool:
        """The agent rejects the internal call ringing (its own phone or the colleague's)."""
        agent_id = str(request.args.get("agent", ""))
        if request.name != "agent_reject" or agent_id not in calls.by_agent:
            return False
        try:  # already in the consumer greenlet
            request.result.set(calls.reject(agent_id))
        except CommandError as exc:
            request.result.set_exception(exc)
        return True

    return Contract(
        "internal_calls",
        handles=((InternalCallRequest, calls.request),),
        owns_legs=calls.on_event,
        leg_failed=calls.leg_failed,
        legs_to_check=calls.legs_to_check,
        offer_card=calls.offer_card,
        ringing_leg=calls.ringing_leg,
        agent_view=lambda agent_id: {"internal": calls.view(agent_id)},
        takes_request=reject,
        agent_actions={"call_agent": call_agent},
    )
