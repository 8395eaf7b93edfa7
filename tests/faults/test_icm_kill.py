"""icm killed (`kill -9`) and restarted under steady call traffic (issue 21, finding 2).

At the kill some callers are in the welcome flow, some wait in the queue, some ring an agent
and some talk. After the restart: every caller reaches an agent exactly once (none hung up
for icm's death, none offered twice), every call has one complete CDR and one recording,
no agent talked to two callers at once and all are back to ready."""

from __future__ import annotations

import pytest

from tests.faults.conftest import AGENTS, DNIS, FLOW_DNIS, sign_in_all
from tests.fixtures.steady_traffic import (
    SteadyCalls,
    assert_recovered,
)
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_callers_survive_an_icm_kill_9_and_each_reaches_an_agent_once(
    call_center, platform_factory, tmp_path
):
    platform = platform_factory(ICM_OUTBOX_DIR=str(tmp_path / "outbox"))
    sign_in_all(call_center, platform)
    # more callers than agents: some wait in the queue when icm dies
    traffic = SteadyCalls(platform.esl_port, f"{DNIS} {FLOW_DNIS}", "55550", 0.25, 2.0).start()
    wait_until(lambda: len(traffic.placed) >= 10, what="callers in every stage")
    platform.icm.crash()
    wait_until(lambda: len(traffic.placed) >= 14, what="callers arriving while icm is dead")
    platform.icm.start()
    platform.icm.wait_log(f"switch {platform.switch} connected")
    wait_until(lambda: len(traffic.placed) >= 20, what="traffic after the restart")
    placed = traffic.stop()

    assert_recovered(placed, AGENTS, served=placed)
