"""Real-switch behaviour: events out of Event-Sequence order (--reorder-window, seeded by
--seed) and `show channels` lagging hang-ups (--show-channels-lag) while uuid_exists does
not (issue 17, defect 2 and the core-db lag)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import EventLog, named, parked_leg

WINDOW = 4


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(
        ["--reorder-window", str(WINDOW), "--seed", "7", "--show-channels-lag", "1.0"],
        tmp_path_factory.mktemp("events"),
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def plain_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim([], tmp_path_factory.mktemp("plain"))
    yield s
    s.stop()


def _sequences(sim: SwitchSim, calls: int = 6) -> list[int]:
    log = EventLog(sim.authed())
    try:
        assert log.api(f"sim_load {calls} 50").startswith("+OK")
        log.wait(lambda evs: len(named_all(evs, "CHANNEL_DESTROY")) >= calls, timeout=10)
        log.settle(0.2)
        return [int(e["Event-Sequence"]) for e in log.events if "Event-Sequence" in e]
    finally:
        log.close()


def named_all(events: list[dict[str, str]], name: str) -> list[dict[str, str]]:
    return [e for e in events if e.get("Event-Name") == name]


def test_events_arrive_out_of_sequence_within_the_window(sim: SwitchSim) -> None:
    seqs = _sequences(sim)
    assert seqs != sorted(seqs), "a reorder window must deliver some events late"
    # every event is there once, with the Event-Sequence it was fired with
    assert sorted(seqs) == list(range(min(seqs), max(seqs) + 1))
    # and none arrives more than WINDOW events after its turn
    for i, s in enumerate(seqs):
        overtaken_by = sum(1 for later in seqs[:i] if later > s)
        assert overtaken_by <= WINDOW, (s, overtaken_by)


def test_without_a_window_events_are_in_order(plain_sim: SwitchSim) -> None:
    seqs = _sequences(plain_sim)
    assert seqs == sorted(seqs)


def test_show_channels_lags_hangups_but_uuid_exists_does_not(sim: SwitchSim) -> None:
    log = EventLog(sim.authed())
    try:
        leg = parked_leg(log)
        assert log.api(f"uuid_kill {leg}") == "+OK\n"
        log.wait(lambda evs: named(evs, "CHANNEL_DESTROY", leg))
        assert log.api(f"uuid_exists {leg}") == "false"  # the live session table
        assert leg in log.api("show channels")  # the core db, not yet updated
        assert leg in log.api("show channels as json")
        assert leg in log.api("show calls")
        log.settle(1.2)
        assert leg not in log.api("show channels")
        assert leg not in log.api("show calls as json")
    finally:
        log.api("hupall")
        log.close()


def test_without_lag_show_channels_forgets_at_once(plain_sim: SwitchSim) -> None:
    log = EventLog(plain_sim.authed())
    try:
        leg = parked_leg(log)
        assert log.api(f"uuid_kill {leg}") == "+OK\n"
        log.wait(lambda evs: named(evs, "CHANNEL_DESTROY", leg))
        assert leg not in log.api("show channels")
    finally:
        log.close()
