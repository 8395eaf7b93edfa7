"""The network to the switch paused under steady call traffic (issue 21).

icm reaches the switch's event socket through a proxy that freezes: no byte passes either
way, both ends believe the connection is open. icm notices by the missing heartbeats,
reconnects once the link is back and resynchronises. Commands it sent into the frozen link
may still reach the switch after it (TCP delivers what it holds): an agent's phone rung by
such a late offer must be adopted or hung up, never left on a call nobody bridges."""

from __future__ import annotations

import uuid

import pytest

from tests.faults.conftest import AGENTS, DNIS, FLOW_DNIS, sign_in_all
from tests.fixtures.esl_client import EslClient, free_port
from tests.fixtures.faults import TcpProxy
from tests.fixtures.processes import start_icm, start_switchsim
from tests.fixtures.steady_traffic import (
    SteadyCalls,
    assert_recovered,
)
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_paused_network_to_the_switch_is_detected_and_recovered_without_loss(call_center):
    sim_esl, outbound = _ports()
    switchsim = start_switchsim(sim_esl, outbound)
    link = TcpProxy("127.0.0.1", sim_esl)
    switch = f"tf{uuid.uuid4().hex[:8]}"
    icm = start_icm(switch, link.port, outbound)
    try:
        icm.wait_log(f"switch {switch} connected")
        platform = _Plat(switch, sim_esl)
        sign_in_all(call_center, platform)
        traffic = SteadyCalls(sim_esl, f"{DNIS} {FLOW_DNIS}", "55540", 0.3, 0.8).start()
        wait_until(lambda: len(traffic.placed) >= 4, what="traffic before the pause")
        link.freeze()  # no byte passes; both ends believe the connection is open
        icm.wait_log("heartbeat", timeout=20)  # icm notices by the missing heartbeats
        wait_until(lambda: len(traffic.placed) >= 10, timeout=30, what="traffic while frozen")
        link.thaw()
        placed = traffic.stop()
        assert_recovered(placed, AGENTS, served=placed)  # the callers waited through it
        # nothing is left on the switch: no agent's phone parked on a late offer's leg
        wait_until(lambda: _channels(sim_esl) == 0, timeout=20, what="every leg to end")
    finally:
        link.close()
        icm.stop()
        switchsim.stop()


class _Plat:
    """What sign_in_all needs of a platform started by hand."""

    def __init__(self, switch: str, esl_port: int) -> None:
        self.switch, self.esl_port = switch, esl_port

    def control(self):
        return EslClient("127.0.0.1", self.esl_port)


def _ports() -> tuple[int, int]:
    return free_port(), free_port()


def _channels(esl_port: int) -> int:
    esl = EslClient("127.0.0.1", esl_port)
    try:
        words = esl.api("show channels count").split()
    finally:
        esl.close()
    return int(words[0]) if words and words[0].isdigit() else -1
