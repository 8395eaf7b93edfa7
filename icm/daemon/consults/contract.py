"""The consultations feature's contract: its requests, its own legs and the agent's view."""

from __future__ import annotations

from icm.daemon.acd.messages import AcdRequest
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.consults.consultations import ConsultRequest, Consults
from icm.daemon.feature import Contract
from icm.domain import commands as cmd


def contract(consults: Consults, acd: AcdRuntime) -> Contract:
    def reject(request: AcdRequest) -> bool:
        """A consulted agent rejects the consultation ringing its phone (AG-5)."""
        agent_id = str(request.args.get("agent", ""))
        leg = consults.ringing_leg(agent_id) if request.name == "agent_reject" else ""
        if not leg:
            return False
        consult = consults.by_target[agent_id]
        consult.why = "reject_not_ready" if request.args.get("not_ready") else "reject"
        if request.args.get("not_ready"):
            acd.not_ready_after(agent_id, "rejected")
        acd.send(cmd.HangupLeg(leg, "CALL_REJECTED"))
        request.result.set({"agent": agent_id, "state": "reserved"})
        return True

    return Contract(
        "consults",
        handles=((ConsultRequest, consults.request),),
        owns_legs=consults.on_event,
        leg_failed=consults.leg_failed,
        legs_to_check=consults.legs_to_check,
        offer_card=consults.offer_card,
        ringing_leg=consults.ringing_leg,
        agent_view=lambda agent_id: {"consult": consults.view(agent_id)},
        takes_request=reject,
    )
