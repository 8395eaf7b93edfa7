"""Which not-ready reason (AG-2) a state change may carry: one of the active configured codes
(`NotReadyReason`), or none. Every way in — the desktop's socket, the REST API, a
supervisor's "force not ready" — checks through here before the reason reaches icm, which
stores it and shows it to supervisors and in reports; so an agent cannot plant text (or
script) of its own choosing there (issue 18).

With no reason configured, only "no reason" is accepted: the desktop offers "Not ready"
alone and the reports show "(none)". A supervisor's change without a reason is recorded as
`SUPERVISOR_REASON`, a reason the platform sets itself (as icm's "rejected" after a refused
offer), never one a caller may choose.
"""

from __future__ import annotations

from typing import Any

from agents.models import NotReadyReason

SUPERVISOR_REASON = "supervisor"
STATES_WITH_REASON = ("not_ready", "login_not_ready")


class UnknownReason(ValueError):
    """A not-ready reason that is not an active configured code; says which are."""


def active_reason_codes() -> list[str]:
    """The codes an agent may choose from now, sorted."""
    return sorted(NotReadyReason.objects.filter(active=True).values_list("code", flat=True))


def check_not_ready_reason(reason: Any) -> str:
    """`reason` when it is empty (no reason) or an active configured code, else UnknownReason.

    The refusal never repeats the refused text: it may be hostile, and it ends up in audit
    entries and on pages."""
    if reason is None or reason == "":
        return ""
    codes = active_reason_codes()
    if isinstance(reason, str) and reason in codes:
        return reason
    if not codes:
        raise UnknownReason("no not-ready reasons are configured: go not ready without one")
    raise UnknownReason(f"unknown not-ready reason: one of {', '.join(codes)}, or none")


def check_state_reason(state: str, reason: Any) -> str:
    """The reason to send with a change to `state`: checked for a not-ready state, dropped
    for every other (icm keeps a reason only with not ready)."""
    if state not in STATES_WITH_REASON:
        return ""
    return check_not_ready_reason(reason)
