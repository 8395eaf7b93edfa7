"""Replay the captured FreeSWITCH scenario (inbound-plain.txt) against switchsim and compare.

Per event: the event name sequence must be identical, and the set of header NAMES must be
the capture's (values such as uuids and timestamps naturally differ). The only allowed
difference is documented in docs/switchsim.md: the captured recording was discarded as
empty (loopback channels carry no audio) while switchsim writes a real WAV.
"""

from __future__ import annotations

import pytest

from tests.switchsim.captures import script
from tests.switchsim.conftest import SwitchSim

KNOWN_DIFFERENCES = {"variable_RECORD_DISCARDED"}


def _replay(sim: SwitchSim, name: str) -> tuple[list, list]:
    esl = sim.authed()
    expected: list[list[tuple[str, str]]] = []
    got: list[list[tuple[str, str]]] = []
    for command, events in script(name):
        if command.startswith("auth"):
            continue
        expected.extend(events)
        reply = esl.command(command)
        assert reply.content_type in ("command/reply", "api/response")
        if command == "exit":
            break
        while len(got) < len(expected):
            frame = esl.events_until(lambda f: True, timeout=5)[0]
            got.append(frame.event())
    esl.close()
    return expected, got


@pytest.mark.parametrize("capture", ["inbound-plain.txt", "inbound-json.txt"])
def test_inbound_capture_replays_event_for_event(switchsim: SwitchSim, capture: str) -> None:
    expected, got = _replay(switchsim, capture)
    exp_names = [dict(e)["Event-Name"] for e in expected]
    got_names = [dict(e)["Event-Name"] for e in got]
    assert got_names == exp_names
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        name = dict(e)["Event-Name"]
        e_keys = {k for k, _ in e} - KNOWN_DIFFERENCES
        g_keys = {k for k, _ in g} - KNOWN_DIFFERENCES
        assert g_keys == e_keys, (
            f"event #{i} {name} on {dict(e).get('Channel-Name')}: "
            f"missing {sorted(e_keys - g_keys)}, extra {sorted(g_keys - e_keys)}"
        )
