"""The ACD feature's contract: the inbox items, bus commands and agent view it owns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icm.bus.commands import CommandError
from icm.daemon.acd.messages import (
    AcdError,
    AcdRequest,
    AcdTick,
    CallbackRequested,
    ContactArrived,
    LeaveQueue,
    OfferLegFailed,
    RepairLeg,
)
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.feature import Command, Contract

COMMANDS = (
    "agent_login",
    "agent_logout",
    "agent_ready",
    "agent_not_ready",
    "end_wrap_up",
    "extend_wrap_up",
    "agent_reject",
    "agent_pick",
    "reload_queue",
    "reload_agent",
)


def contract(
    acd: AcdRuntime,
    post: Callable[[object], None],
    timeout: float,
    takes_request: Callable[[AcdRequest], bool],
) -> Contract:
    """`takes_request`: another feature answers an agent's request first (a consultation or
    a booked call-back ringing the agent it rejects)."""

    def request(item: AcdRequest) -> None:
        if not takes_request(item):
            acd.request(item)

    return Contract(
        "acd",
        handles=(
            (ContactArrived, lambda item: acd.contact_arrived(item.contact)),
            (AcdRequest, request),
            (AcdTick, lambda item: acd.tick()),
            (OfferLegFailed, lambda item: acd.originate_failed(item.leg, item.cause)),
            (CallbackRequested, acd.callback_requested),
            (LeaveQueue, acd.leave_queue),
            (RepairLeg, lambda item: acd.repair(item.agent_id, item.leg)),
        ),
        commands={name: _command(name, post, timeout, acd.preload) for name in COMMANDS},
        job_done=acd.job_done,
        offer_card=acd.contact_card,
    )


def _command(
    name: str,
    post: Callable[[object], None],
    timeout: float,
    preload: Callable[[str, dict[str, Any]], dict[str, Any]],
) -> Command:
    """The command greenlet reads what the request needs from the database first (a reload's
    queue or agent): the consumer greenlet, which dispatches callers, never waits on it."""

    def run(args: dict[str, Any]) -> dict[str, Any]:
        try:
            loaded = preload(name, args)
        except AcdError as exc:
            raise CommandError(str(exc)) from exc
        request = AcdRequest(name, args, loaded)
        post(request)
        try:
            result: dict[str, Any] = request.result.get(timeout=timeout)
        except AcdError as exc:
            raise CommandError(str(exc)) from exc
        return result

    return run
