"""switchsim's far end of trunk calls (the outbound issue): scripted outcomes per number and
distributions per prefix, as a carrier plays them (busy, no answer, invalid, answered,
answering machine), and mod_amd's `amd` verdicts on answered calls."""

from __future__ import annotations

from collections import Counter

import gevent
import greenswitch
import pytest

from switchsim.far_end import FarEnds
from tests.switchsim.conftest import SwitchSim


@pytest.fixture
def inbound(switchsim: SwitchSim):
    esl = greenswitch.InboundESL("127.0.0.1", switchsim.port, "ClueCon")
    esl.connect()
    events: list[dict[str, str]] = []
    esl.register_handle("*", lambda e: events.append(e.headers))
    esl.send("event plain CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP_COMPLETE")
    esl.events = events
    yield esl
    esl.send("api hupall")
    esl.stop()


def api(esl, cmd: str) -> str:
    return esl.send(f"api {cmd}").data


def test_scripted_outcomes_as_the_carrier_plays_them(inbound) -> None:
    assert api(
        inbound, "sim_far_end 5550142 busy,no_answer,invalid,answered ring=0.1 talk=30"
    ).startswith("+OK")
    dial = "originate {originate_timeout=1}sofia/gateway/carrier/5550142 &park()"
    assert api(inbound, dial) == "-ERR USER_BUSY\n"
    assert api(inbound, dial) == "-ERR NO_ANSWER\n"
    assert api(inbound, dial) == "-ERR UNALLOCATED_NUMBER\n"
    reply = api(inbound, dial)
    assert reply.startswith("+OK ")
    uuid = reply.split()[1]
    assert api(inbound, f"uuid_getvar {uuid} sim_far_end").strip() == "answered"
    assert api(inbound, "sim_far_end 5550142 x=1").startswith("-ERR unknown setting")
    assert api(inbound, "sim_far_end 5550142").startswith("-ERR give outcome")


def test_amd_tells_a_person_from_a_machine(inbound) -> None:
    api(inbound, "sim_far_end 5550150 answered ring=0.1 talk=20")
    api(inbound, "sim_far_end 5550151 machine ring=0.1 talk=20")
    verdicts = {}
    for number in ("5550150", "5550151"):
        reply = api(inbound, f"originate sofia/gateway/carrier/{number} amd,park inline")
        assert reply.startswith("+OK ")
        verdicts[number] = reply.split()[1]
    deadline = gevent.get_hub().loop.now() + 5
    done: dict[str, tuple[str, str]] = {}
    while len(done) < 2 and gevent.get_hub().loop.now() < deadline:
        for e in inbound.events:
            if e.get("Application") == "amd" and e.get("Unique-ID") in verdicts.values():
                done[e["Unique-ID"]] = (e.get("variable_amd_result"), e.get("variable_amd_cause"))
        gevent.sleep(0.05)
    assert done[verdicts["5550150"]] == ("HUMAN", "HUMAN")
    assert done[verdicts["5550151"]] == ("MACHINE", "LONGGREETING")


def test_a_distribution_per_prefix():
    ends = FarEnds(seed=7)
    assert ends.configure(
        ["555", "answered=35", "no_answer=30", "busy=15", "machine=12", "invalid=8"]
    ).startswith("+OK")
    assert ends.configure(["5559", "busy"]).startswith("+OK")  # the longer prefix wins
    counts = Counter(ends.next_for(f"555{n:04d}").kind for n in range(5000))
    assert (
        abs(counts["answered"] / 5000 - 0.35) < 0.03 and abs(counts["invalid"] / 5000 - 0.08) < 0.02
    )
    assert ends.next_for("+5559123").kind == "busy"
    assert ends.next_for("4420") is None  # no rule: switchsim's old behaviour


def test_the_demo_scenario_decides_who_answers_campaign_calls():
    """`python -m switchsim --demo` (make run) answers trunk calls with the demo's mix of
    people, machines, busy lines, no answer and invalid numbers; a bad rule is refused."""
    from types import SimpleNamespace

    from switchsim.far_end import OUTCOMES
    from switchsim.scenario import Scenario

    def world() -> SimpleNamespace:
        return SimpleNamespace(
            trunk_host="",
            phones={},
            register=lambda ext: None,
            sw=SimpleNamespace(far_ends=FarEnds()),
        )

    demo = world()
    Scenario.load(None, demo=True).apply(demo)
    kinds = {demo.sw.far_ends.next_for(f"55520{n:04d}").kind for n in range(300)}
    assert kinds == set(OUTCOMES)
    with pytest.raises(ValueError, match="far_ends rule"):
        Scenario({"far_ends": {"rules": ["* answered=lots"]}}).apply(world())
