"""The switch killed under steady call traffic (issue 21).

After each fault: every call has exactly one complete CDR (those that died with the switch
are ended with its cause), no agent talked to two callers at once, and every agent is back
to ready — none stuck on a call the switch no longer has. Calls placed after recovery are
served as usual."""

from __future__ import annotations

import pytest

from icm.models import Call
from tests.faults.conftest import AGENTS, DNIS, FLOW_DNIS, sign_in_all
from tests.fixtures.steady_traffic import (
    SteadyCalls,
    assert_recovered,
)
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def register_phones(platform) -> None:
    esl = platform.control()
    for n in range(1, len(AGENTS) + 1):
        esl.api(f"sim_register 140{n} answer:0.2")
    esl.close()


def test_a_switch_killed_under_traffic_leaves_complete_cdrs_and_no_agent_stuck(
    call_center, platform_factory
):
    platform = platform_factory()
    sign_in_all(call_center, platform)
    traffic = SteadyCalls(platform.esl_port, f"{DNIS} {FLOW_DNIS}", "55530", 0.3, 1.5).start()
    wait_until(lambda: len(traffic.placed) >= 6, what="traffic before the crash")
    platform.restart_switchsim(crash=True)  # kill -9: no hang-up event for its calls
    register_phones(platform)  # the phones register again with the new switch
    before = len(traffic.placed)
    wait_until(lambda: len(traffic.placed) >= before + 6, timeout=30, what="traffic after")
    placed = traffic.stop()

    after = placed[before + 1 :]  # the calls placed once the new switch was up
    assert_recovered(placed, AGENTS, served=after)
    died = Call.objects.filter(ani__in=placed[:before]).exclude(hangup_cause="NORMAL_CLEARING")
    assert died.exists()  # the calls live at the crash, ended by icm after its resync
