"""The conformance lane's colleague scenarios (issue 20 items 7 and 8): an internal call by
agent ID (AG-8) and a standing intercept (SV-9), asserting what users see — the agent state
log, the live states, the bridge, the eavesdrop on the agent's leg — on switchsim, on
switchsim modelling a real switch's races, and on a real FreeSWITCH (conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from icm.models import CallLeg
from tests.conformance.test_scenarios import (  # noqa: F401 - fixtures and helpers
    agent_call,
    agent_leg,
    agent_state,
    center,
    esl_var,
    on_call,
    start,
    teams,
)
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import transitions
from tests.integration.test_icm_restart_agents import live_state
from tests.supervision.conftest import client_for

pytestmark = pytest.mark.conformance


def test_internal_call_by_agent_id(backend, center):  # noqa: F811
    """ag1 (ready) calls ag2 (not ready: internal calls still ring): ag1's phone, then ag2's;
    bridged; both on an internal call; back to ready / not ready (meeting) after it."""
    start(backend, center)
    backend.register_phone("1301", "answer:0.2")
    backend.register_phone("1302", "answer:0.3")
    agent_state(backend, center[1], "ag1", "login")
    agent_state(backend, center[1], "ag2", "login_not_ready", reason="meeting")
    agent_call(backend, "ag1", "call_agent", target="ag2")
    for agent in ("ag1", "ag2"):
        wait_until(
            lambda a=agent: live_state(backend.switch, a) == "on_call", what=f"{agent} on it"
        )

    def legs() -> tuple[str, str] | None:
        up = CallLeg.objects.filter(hungup_at__isnull=True, answered_at__isnull=False)
        caller = up.filter(channel_name__contains="1301").first()
        callee = up.filter(channel_name__contains="1302").first()
        return (caller.uuid, callee.uuid) if caller and callee else None

    caller, callee = wait_until(legs, what="both phones answered")
    wait_until(lambda: esl_var(backend, caller, "bridge_uuid") == callee, what="bridged")
    agent_call(backend, "ag1", "hangup")
    wait_until(lambda: live_state(backend.switch, "ag1") == "ready", what="ag1 ready again")
    wait_until(lambda: live_state(backend.switch, "ag2") == "not_ready", what="ag2 back")
    log = wait_until(
        lambda: (
            (logged := [(a, b) for a, b, _ in transitions("ag2")])[-1:]
            == [("on_call", "not_ready")]
            and logged
        ),
        what="ag2's state log written",
    )
    assert log[-3:] == [
        ("not_ready", "reserved"),
        ("reserved", "on_call"),
        ("on_call", "not_ready"),
    ]
    assert ("on_call", "wrap_up") not in log  # an internal call: no wrap-up


def test_standing_intercept(backend, center):  # noqa: F811
    """lead1 has every call of ag1 listened to from its phone: a call ag1 takes rings the
    leader's phone, which eavesdrops on ag1's leg (a media bug); hung up with the call."""
    start(backend, center)
    events = backend.events("MEDIA_BUG_START")
    backend.register_phone("1301", "answer:0.2")
    backend.register_phone("1390", "answer:0.2")
    agent_state(backend, center[1], "ag1", "login")
    until = (datetime.now(tz=UTC) + timedelta(minutes=10)).isoformat()
    r = client_for(center[1]["lead1"]).post(
        "/api/supervision/intercepts/",
        {"agent": "ag1", "until": until, "extension": "1390"},
        format="json",
    )
    assert r.status_code == 200, r.content
    customer = backend.call_in("5550407", "8131")
    on_call("ag1")
    leg = agent_leg("1301", "5550407")
    wait_until(
        lambda: any(
            e.get("Unique-ID") == leg.uuid and e.get("Media-Bug-Function") == "eavesdrop"
            for e in events.executed_events("MEDIA_BUG_START")
        ),
        what="the leader's phone eavesdropping on ag1's leg",
    )
    listener = CallLeg.objects.filter(channel_name__contains="1390").first()
    assert esl_var(backend, listener.uuid, "ipbx_monitor") == "ag1"
    assert esl_var(backend, customer, "bridge_uuid") == leg.uuid  # still talking together
    backend.hangup(customer)
    wait_until(
        lambda: CallLeg.objects.filter(pk=listener.pk, hungup_at__isnull=False).exists(),
        what="the listening leg over with the call",
    )
    events.close()
