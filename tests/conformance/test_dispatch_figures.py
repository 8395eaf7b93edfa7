"""Dispatch latency on a real FreeSWITCH (issue 17's targets: arrival → agent leg p99 ≤ 60 ms,
queue music → agent leg p99 ≤ 20 ms; a route straight to a queue without a greeting of its own
offers at once; when a greeting plays, its end → agent leg is reported too), measured from
the switch's own event timestamps while idle sipp phones answer calls one after another. It
reports figures, it does not time-assert: run it with `-o log_cli=true --log-cli-level=INFO`,
or read var/test-logs/dispatch-<switch>.json."""

from __future__ import annotations

import json
import logging
import os

import pytest

from tests.conformance.switch import Backend
from tests.conformance.test_scenarios import agent_state, center, start  # noqa: F401
from tests.fixtures.processes import LOG_DIR
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import transitions
from tests.supervision.conftest import teams  # noqa: F401

pytestmark = pytest.mark.conformance
log = logging.getLogger(__name__)
CALLS = int(os.environ.get("IPBX_CONFORMANCE_DISPATCH_CALLS", "20"))
MOH = "local_stream://moh"
GREETING = "ivr/"  # a queue greeting (shipped prompts), when the route has one


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values)}


def stamp(event: dict[str, str]) -> int:
    return int(event["Event-Date-Timestamp"])  # µs, the switch's clock


def dispatch_samples(events: list[dict[str, str]], ani: str, ext: str) -> dict[str, float | None]:
    """Figures in ms for the call from `ani`, from the switch's events: customer leg created →
    agent leg created ("arrival"); customer leg created → the first application icm runs on
    it ("pickup"); end of the queue route's greeting → agent leg ("greeting"); last
    queue-music start → agent leg ("queue"; negative when the idle agent's leg comes first)."""
    customer = next(
        e
        for e in events
        if e["Event-Name"] == "CHANNEL_CREATE"
        and e.get("Caller-Caller-ID-Number") == ani
        and e.get("Call-Direction") == "inbound"
    )
    agent = next(
        e
        for e in events
        if e["Event-Name"] == "CHANNEL_CREATE"
        and e.get("Call-Direction") == "outbound"
        and ext in e.get("Channel-Name", "")
        and stamp(e) >= stamp(customer)
    )
    mine = [e for e in events if e.get("Unique-ID") == customer["Unique-ID"]]
    music = sorted(
        stamp(e)
        for e in mine
        if e["Event-Name"] in ("CHANNEL_EXECUTE", "PLAYBACK_START")
        and MOH in (e.get("Application-Data", "") + e.get("Playback-File-Path", ""))
    )
    before = [t for t in music if t <= stamp(agent)]
    queued = before[-1] if before else music[0] if music else None
    # the dialplan's own set/socket run before icm sees the call
    icm_apps = [
        stamp(e)
        for e in mine
        if e["Event-Name"] == "CHANNEL_EXECUTE" and e.get("Application") not in ("set", "socket")
    ]
    greeted = [
        stamp(e)
        for e in mine
        if e["Event-Name"] == "CHANNEL_EXECUTE_COMPLETE"
        and GREETING in e.get("Application-Data", "")
        and stamp(e) <= stamp(agent)
    ]

    def to_agent(t: int | None) -> float | None:
        return None if t is None else (stamp(agent) - t) / 1000

    return {
        "arrival": to_agent(stamp(customer)),
        "pickup": (min(icm_apps) - stamp(customer)) / 1000 if icm_apps else None,
        "greeting": to_agent(greeted[-1] if greeted else None),
        "queue": to_agent(queued),
    }


@pytest.mark.timeout(60 + 10 * CALLS)
def test_dispatch_figures(backend: Backend, center, tmp_path):  # noqa: F811
    """N calls to the support queue (8131), one after another, each answered by ag1's idle
    phone: the figures come from the switch's events, not from icm's logs."""
    if backend.kind != "freeswitch":
        pytest.skip("dispatch figures are measured on a real switch only")
    start(backend, center)
    backend.register_phone("1301", "answer:0.1")
    agent_state(backend, center[1], "ag1", "login")
    collector = backend.events(
        "CHANNEL_CREATE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE PLAYBACK_START CUSTOM"
    )
    try:
        for n in range(CALLS):
            done = len(transitions("ag1"))
            # a sipp caller talks from the switch's answer: the queue, the offer, then a few
            # seconds with ag1
            backend.call_in(f"55507{n:02d}", "8131", talk=4.0)
            wait_until(
                lambda done=done: ("wrap_up", "ready", "") in transitions("ag1")[done:],
                timeout=30,
                what=f"ag1 ready again after call {n}",
            )
        events = list(collector.events)
    finally:
        collector.close()
    with (LOG_DIR / f"dispatch-events-{backend.switch}.jsonl").open("w") as out:
        out.writelines(json.dumps(e) + "\n" for e in events)
    samples = [dispatch_samples(events, f"55507{n:02d}", "1301") for n in range(CALLS)]
    # FreeSWITCH stamps events from a clock that ticks every 20 ms unless switch.conf.xml
    # has 1ms-timer on: the figures say which resolution they have
    coarse = len({stamp(e) % 20_000 for e in events}) <= 2
    figures: dict[str, object] = {"calls": CALLS, "clock": "20 ms ticks" if coarse else "fine"}
    for name in ("arrival", "pickup", "greeting", "queue"):
        values = [v for v in (sample[name] for sample in samples) if v is not None]
        figures[name] = {**stats(values), "calls": len(values)}
    figures["samples_ms"] = samples
    (LOG_DIR / f"dispatch-{backend.switch}.json").write_text(json.dumps(figures, indent=1))
    summary = {k: v for k, v in figures.items() if k != "samples_ms"}
    log.info("dispatch on the real switch: %s", json.dumps(summary))
    assert len(samples) == CALLS
