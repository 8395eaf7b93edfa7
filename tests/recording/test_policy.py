"""Which calls are recorded: policies by agent, queue, number and time window; supervisors'
orders; priorities; refusals of policies the recorder cannot follow."""

from datetime import time

import pytest

from icm.domain.recording_policy import (
    CallFacts,
    InvalidPolicy,
    RecordingPolicy,
    RecordOrder,
    decide,
)


def call(ani="5550101", dnis="8131", agent="a1", queue="support", at=time(10, 0), ts=1000.0):
    return CallFacts(ani, dnis, agent, queue, at, ts)


def test_only_these_numbers_records_exactly_those_calls():
    only = RecordingPolicy("vip lines", only_numbers=("5550101", "4420*"))
    assert decide([only], [], call(ani="5550101")).why == "policy vip lines"
    assert decide([only], [], call(ani="442071234567")) is not None  # prefix
    assert decide([only], [], call(ani="5550102")) is None
    assert decide([only], [], call(ani="", dnis="5550101")) is not None  # the called number


def test_never_these_numbers_wins_even_over_a_supervisors_order():
    policy = RecordingPolicy("all but the helpline", never_numbers=("8000",))
    order = RecordOrder("a1", start=0.0)
    assert decide([policy], [order], call(dnis="8000")) is None
    assert decide([policy], [order], call()).why == "policy all but the helpline"
    assert decide([], [order], call()).why == "order"


def test_time_windows_including_one_over_midnight():
    shifts = RecordingPolicy(
        "shifts", windows=((time(8), time(12)), (time(13), time(17)), (time(22), time(2)))
    )
    assert decide([shifts], [], call(at=time(8, 0))) is not None
    assert decide([shifts], [], call(at=time(12, 0))) is None  # a window's end is outside
    assert decide([shifts], [], call(at=time(12, 30))) is None
    assert decide([shifts], [], call(at=time(23, 30))) is not None
    assert decide([shifts], [], call(at=time(1, 59))) is not None
    assert decide([shifts], [], call(at=time(2, 0))) is None


def test_agents_queues_on_demand_and_priority():
    trainees = RecordingPolicy(
        "trainees",
        mode="agents",
        agents=frozenset({"a2"}),
        format="alaw",
        stereo=False,
        priority=10,
    )
    billing = RecordingPolicy(
        "billing", mode="queues", queues=frozenset({"billing"}), format="ima_adpcm", priority=20
    )
    manual = RecordingPolicy("manual", mode="on_demand")
    policies = [billing, trainees, manual]
    d = decide(policies, [], call(agent="a2", queue="billing"))
    assert (d.format, d.stereo, d.why) == ("alaw", False, "policy trainees")
    assert decide(policies, [], call(agent="a1", queue="billing")).format == "ima_adpcm"
    assert decide(policies, [], call(agent="a1", queue="support")) is None


def test_an_order_records_only_within_its_span():
    order = RecordOrder("a1", start=1000.0, end=1600.0, format="ulaw")
    assert decide([], [order], call(ts=999.0)) is None
    assert decide([], [order], call(ts=1000.0)).format == "ulaw"
    assert decide([], [order], call(ts=1600.0)) is None
    assert decide([], [order], call(agent="a2", ts=1200.0)) is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mode": "sometimes"}, "mode is one of"),
        ({"format": "mp3"}, "format is one of"),
        ({"windows": ((time(1), time(2)),) * 4}, "at most 3"),
        ({"windows": ((time(9), time(9)),)}, "is empty"),
    ],
)
def test_policies_the_recorder_cannot_follow_are_refused(kwargs, message):
    with pytest.raises(InvalidPolicy, match=message):
        RecordingPolicy("bad", **kwargs)
