"""The adapter tells a caller's session it is parked after its bridge (the agent hung up) from
the channel's own events, whatever order they arrive in: the latest PARK's Event-Sequence
above the latest BRIDGE's. The socket application's own park, before any bridge, never
counts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from icm.daemon.freeswitch.outbound import IcmOutboundSession


def _fire(arrivals: list[tuple[str, int]]) -> list[bool]:
    session = object.__new__(IcmOutboundSession)  # no socket: only its event handlers
    session.event_handlers = {}
    seen: list[bool] = []
    session.on_back_from_bridge(seen.append)
    for name, seq in arrivals:
        event = SimpleNamespace(headers={"Event-Name": name, "Event-Sequence": str(seq)})
        for handle in session.event_handlers[name]:
            handle(event)
    return seen


@pytest.mark.parametrize(
    "arrivals",
    [
        [("CHANNEL_PARK", 5), ("CHANNEL_BRIDGE", 10), ("CHANNEL_PARK", 20)],  # in order
        [("CHANNEL_PARK", 5), ("CHANNEL_PARK", 20), ("CHANNEL_BRIDGE", 10)],  # park first
        [("CHANNEL_PARK", 20), ("CHANNEL_BRIDGE", 10), ("CHANNEL_PARK", 5)],  # reversed
    ],
)
def test_parked_after_the_bridge_in_any_arrival_order(arrivals):
    assert _fire(arrivals)[-1] is True


def test_the_socket_applications_own_park_and_a_new_bridge_are_not_back():
    assert _fire([("CHANNEL_PARK", 5)]) == [False]  # no bridge yet
    # a consultation's hold (park 20), then bridged on to a colleague (bridge 30)
    assert (
        _fire([("CHANNEL_BRIDGE", 10), ("CHANNEL_PARK", 20), ("CHANNEL_BRIDGE", 30)])[-1] is False
    )
