"""PostgreSQL stopped and restarted under steady call traffic (issue 21, finding 1).

icm reaches the database through a proxy that the test takes down (the server terminates
icm's sessions, new connections are refused) and brings back. Calls keep flowing through the
outage — routed by icm's live configuration, offered and bridged — and what icm could not
save goes to its spill directory, so even a `kill -9` during the outage loses nothing: the
next icm saves it, once."""

from __future__ import annotations

import pytest

from agents.models import AgentStateChange
from icm.models import SystemEvent
from tests.faults.conftest import AGENTS, DNIS, FLOW_DNIS, sign_in_all
from tests.fixtures.steady_traffic import (
    SteadyCalls,
    assert_recovered,
)
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def channels(platform) -> int:
    esl = platform.control()
    try:
        reply = esl.api("show channels count")
    finally:
        esl.close()
    return int(reply.split()[0]) if reply.split() and reply.split()[0].isdigit() else -1


def spilled(outbox) -> list[str]:
    return sorted(p.name for p in outbox.rglob("*.spill") if p.stat().st_size)


def test_calls_flow_through_a_database_outage_and_every_cdr_is_saved_once_after_a_kill_9(
    call_center, platform_factory, database_proxy, tmp_path
):
    outbox = tmp_path / "outbox"
    icm_env = {"DATABASE_URL": database_proxy.url, "ICM_OUTBOX_DIR": str(outbox)}
    platform = platform_factory(**icm_env)
    sign_in_all(call_center, platform)

    traffic = SteadyCalls(
        platform.esl_port, f"{DNIS} {FLOW_DNIS}", "55510", every=0.3, talk=0.8
    ).start()
    wait_until(lambda: len(traffic.placed) >= 4, what="traffic before the outage")
    database_proxy.down()
    wait_until(lambda: len(traffic.placed) >= 16, timeout=30, what="traffic during the outage")
    placed = traffic.stop()
    during = placed[4:]
    # what icm could not save is on disk while the database is away
    wait_until(lambda: "calls.spill" in spilled(outbox), timeout=20, what="the CDRs spilled")
    wait_until(lambda: channels(platform) == 0, timeout=30, what="every call to end")
    wait_until(
        lambda: "agent_changes.spill" in spilled(outbox), timeout=20, what="agent log spilled"
    )
    # the operator is told: a critical alarm on the wallboard (and in the event history)
    platform.icm.wait_log("alarm raised (database:): database unreachable", timeout=20)

    # icm dies during the outage: what it held is on disk
    platform.icm.crash()
    database_proxy.up()
    platform.icm.start()
    platform.icm.wait_log(f"switch {platform.switch} connected")

    assert_recovered(placed, AGENTS, served=during)  # the flow's callers too
    assert not spilled(outbox)
    raised = SystemEvent.objects.filter(switch=platform.switch, alarm="database")
    assert raised.filter(kind=SystemEvent.Kind.ALARM_RAISED).count() == 1  # kept on disk
    # the agent state log of the outage came back once: each call one reserved → on_call
    on_calls = AgentStateChange.objects.filter(agent__login_id__in=AGENTS, to_state="on_call")
    assert on_calls.count() == len(placed)
