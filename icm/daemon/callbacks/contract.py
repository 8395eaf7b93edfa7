"""The booked call-backs feature's contract: Celery's `callback_ring`, its own legs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icm.daemon.acd.messages import AcdRequest
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.callbacks.booked import BookedCallbacks, CallbackRing
from icm.daemon.feature import Contract
from icm.daemon.requests import in_consumer


def contract(
    booked: BookedCallbacks, acd: AcdRuntime, post: Callable[[object], None], timeout: float
) -> Contract:
    def callback_ring(args: dict[str, Any]) -> dict[str, Any]:
        """Celery: a booked call-back is due (see icm.daemon.callbacks.booked)."""
        booked.check(args)  # refuse a malformed request before it is queued
        # if it times out it may still run: Celery's retry then gets "duplicate"
        return in_consumer(post, CallbackRing(dict(args)), timeout)

    def reject(request: AcdRequest) -> bool:
        """The agent rejects the booked call-back ringing its phone: the queue takes it."""
        agent_id = str(request.args.get("agent", ""))
        if request.name != "agent_reject" or not booked.ringing_leg(agent_id):
            return False
        if request.args.get("not_ready"):
            acd.not_ready_after(agent_id, "rejected")
        booked.reject(agent_id)
        request.result.set({"agent": agent_id, "state": "reserved"})
        return True

    return Contract(
        "callbacks",
        handles=((CallbackRing, booked.request),),
        commands={"callback_ring": callback_ring},
        owns_legs=booked.on_event,
        leg_failed=booked.leg_failed,
        legs_to_check=booked.legs_to_check,
        offer_card=booked.offer_card,
        ringing_leg=booked.ringing_leg,
        takes_request=reject,
    )
