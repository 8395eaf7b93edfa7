"""Redis stopped and restarted under steady call traffic (issue 21, finding 6).

icm reaches Redis (its bus: live snapshot, sequenced events, the command list) through a
proxy the test takes down and brings back. Calls do not need the bus: they keep being
offered and bridged. Once Redis is back, icm rewrites the snapshot by itself (pages then
re-snapshot) and takes commands again; nothing of the outage is missing from the CDRs."""

from __future__ import annotations

import pytest

from icm.bus.client import get_redis
from icm.bus.snapshot import read_snapshot
from tests.faults.conftest import AGENTS, DNIS, FLOW_DNIS, sign_in_all
from tests.fixtures.steady_traffic import (
    SteadyCalls,
    assert_recovered,
    cdr_problems,
)
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_calls_flow_through_a_redis_outage_and_the_live_snapshot_is_rewritten_after(
    call_center, platform_factory, redis_proxy
):
    platform = platform_factory(REDIS_URL=redis_proxy.url)
    sign_in_all(call_center, platform)
    bus = get_redis()

    traffic = SteadyCalls(platform.esl_port, f"{DNIS} {FLOW_DNIS}", "55520", 0.3, 0.8).start()
    wait_until(lambda: len(traffic.placed) >= 4, what="traffic before the outage")
    redis_proxy.down()
    wait_until(lambda: len(traffic.placed) >= 14, timeout=30, what="traffic during the outage")
    placed = traffic.stop()
    during = placed[4:]
    platform.icm.wait_log("will re-snapshot", timeout=20)
    # the calls of the outage end while the bus is away: the snapshot in Redis still shows
    # some of them live (nobody could remove them)
    wait_until(lambda: not cdr_problems(placed), timeout=40, what="every call's CDR")
    assert read_snapshot(bus, platform.switch)["calls"], "calls live at the outage are kept"

    redis_proxy.up()
    wait_until(
        lambda: not read_snapshot(bus, platform.switch)["calls"],
        timeout=20,
        what="icm to rewrite the snapshot without the calls that ended",
    )
    snapshot = read_snapshot(bus, platform.switch)
    assert snapshot["connected"]
    # commands reach icm again: an agent signs out through the API
    response = call_center.post(
        f"/api/agents/{AGENTS[0]}/state/",
        {"state": "logout", "switch": platform.switch},
        format="json",
    )
    assert response.status_code == 200, response.content

    assert_recovered(placed, AGENTS[1:], served=during)
