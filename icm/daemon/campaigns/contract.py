"""The campaigns feature's contract: its timers and verdicts, bus commands, preview actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icm.daemon.campaigns.dialer import CampaignDialer
from icm.daemon.campaigns.messages import (
    AmdVerdict,
    FlowAnswers,
    GraceOver,
    PreviewAction,
    PreviewsDue,
    PreviewTimeout,
    RingFirst,
    WithdrawPreviews,
)
from icm.daemon.feature import Command, Contract, LegEvent
from icm.daemon.requests import in_consumer
from icm.domain import events as ev


def contract(dialer: CampaignDialer, post: Callable[[object], None], timeout: float) -> Contract:
    def follow(event: LegEvent) -> None:
        if isinstance(event, ev.LegAnswered):
            dialer.answered(event.uuid, event.at.timestamp())
        else:
            dialer.hung_up(event.uuid, event.cause, event.at.timestamp())

    def preview(action: str) -> Command:
        def run(args: dict[str, Any]) -> dict[str, Any]:
            agent = str(args.get("agent", ""))
            request = PreviewAction(agent, action, bool(args.get("not_ready")))
            return in_consumer(post, request, timeout)

        return run

    return Contract(
        "campaigns",
        handles=(
            (GraceOver, lambda item: dialer.grace_over(item.leg)),
            (AmdVerdict, dialer.amd_verdict),
            (FlowAnswers, lambda item: dialer.answers(item.leg, item.variables)),
            (PreviewsDue, lambda item: dialer.assign_previews()),
            (RingFirst, lambda item: dialer.ring_first(item.leg)),
            (PreviewAction, dialer.preview_action),
            (PreviewTimeout, dialer.preview_timeout),
            (WithdrawPreviews, lambda item: dialer.withdraw_previews(item.campaign)),
        ),
        commands={
            "campaign_dial": dialer.dial,
            "campaign_floor": dialer.floor,
            "campaign_stop": lambda args: {"dropped": dialer.stop(str(args.get("campaign", "")))},
        },
        follows_legs=follow,
        job_done=dialer.job_done,
        offer_card=dialer.offer_card,
        agent_actions={"preview_call": preview("call"), "preview_skip": preview("skip")},
    )
