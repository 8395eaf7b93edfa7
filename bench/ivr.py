"""IVR benchmarks.

- `ivr_steps_per_s`: flow nodes the interpreter runs per CPU second, driving the demo flows
  (language, menu, account-balance sub-flow with a look-up, queue) through the text
  front-end with in-memory look-ups — the interpreter alone.
- `ivr_concurrent_calls`: calls held in IVR flows at once by one icm process through
  switchsim, each looping speak → menu (3 s time-out) so it steps every few seconds;
  `ivr_step_interval_p50_s` / `_p99_s` is the time between one call's successive menus
  (the prompt + 3 s time-out + 0.25 s, 4.51 s when nothing falls behind) and
  `ivr_steps_behind` counts intervals more than 1 s over that.
"""

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import django  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
django.setup()

import gevent  # noqa: E402

from bench.harness import icm_on_switchsim, start_load  # noqa: E402
from icm.daemon.ivr import voice as ivr_voice  # noqa: E402
from icm.models import InboundRoute, Queue, Site  # noqa: E402
from ivr.actions import check_publish  # noqa: E402
from ivr.demo import BALANCE_FLOW, BALANCE_GRAPH, MAIN_FLOW, MAIN_GRAPH  # noqa: E402
from ivr.engine.interpreter import Interpreter  # noqa: E402
from ivr.engine.text import TextConversation  # noqa: E402
from ivr.models import Flow, FlowVersion  # noqa: E402

CALLS = int(os.environ.get("BENCH_IVR_CALLS", "2000"))
RATE = float(os.environ.get("BENCH_IVR_RATE", "50"))
HOLD_SECONDS = float(os.environ.get("BENCH_IVR_HOLD", "20"))
CONVERSATIONS = int(os.environ.get("BENCH_IVR_CONVERSATIONS", "5000"))
DNIS = "8777"
PROMPT = "Please hold the line."  # 21 characters: about 1.3 s of simulated speech
EXPECTED_INTERVAL = 0.06 * len(PROMPT) + 3.0 + 0.25  # prompt, time-out, silence after
LOOP_FLOW = {
    "start": "hold",
    "nodes": {
        "hold": {
            "type": "menu",
            "prompt": PROMPT,
            "timeout": 3,
            "retries": 1,
            "exits": {"9": "queue", "timeout": "again", "invalid": "again"},
        },
        "again": {"type": "goto", "exits": {"next": "hold"}},
        "queue": {"type": "enter_queue", "queue": "bench-ivr"},
    },
}


class _Flows:
    def __init__(self) -> None:
        self.graphs = {MAIN_FLOW: MAIN_GRAPH, BALANCE_FLOW: BALANCE_GRAPH}

    def graph(self, flow, version):
        return self.graphs[flow]

    def published(self, flow):
        return (1, self.graphs[flow]) if flow in self.graphs else None


class _Services:
    def lookup(self, connector, params):
        return {"balance": 120.5, "holder": "Ann"}

    def icm_value(self, metric, queue):
        return 1.0

    def schedule_open(self, schedule):
        return True


def steps_per_second() -> None:
    conversation = TextConversation(Interpreter(_Flows()), _Services())
    steps = 0
    started = time.process_time()
    for n in range(CONVERSATIONS):
        run, _ = conversation.start(MAIN_FLOW, {"ani": f"555{n:04d}", "customer_grade": "x"})
        for answer in ("1", "1", "10001#"):
            conversation.answer(run, answer)
        steps += run.steps
    elapsed = time.process_time() - started
    sys.stdout.write(
        f"ivr_steps_per_s: {steps / elapsed:.0f} steps/s "
        f"({CONVERSATIONS} demo conversations, {steps} steps)\n"
    )
    sys.stdout.flush()


def _bench_flow() -> None:
    InboundRoute.objects.filter(dnis=DNIS).delete()
    Flow.objects.filter(name="bench-ivr").update(published_version=None)
    FlowVersion.objects.filter(flow__name="bench-ivr").delete()
    Flow.objects.filter(name="bench-ivr").delete()
    site, _ = Site.objects.get_or_create(
        code="bench", defaults={"name": "Bench", "sip_domain": "bench.local"}
    )
    defaults = {"site": site, "display_name": "Bench IVR"}
    Queue.objects.get_or_create(name="bench-ivr", defaults=defaults)
    flow = Flow.objects.create(name="bench-ivr")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=LOOP_FLOW))
    InboundRoute.objects.create(site=site, name="bench-ivr", dnis=DNIS, flow=flow)


def concurrent_calls() -> None:
    _bench_flow()
    asked: dict[str, list[float]] = defaultdict(list)
    collect = ivr_voice.VoiceFrontend.collect

    def timed_collect(self, effect, run):
        asked[self.call_uuid].append(time.monotonic())
        return collect(self, effect, run)

    ivr_voice.VoiceFrontend.collect = timed_collect
    with icm_on_switchsim("--playback-seconds", "0.5") as (service, esl_port):
        started = time.monotonic()
        load = start_load(esl_port, RATE, CALLS, DNIS, "patience=3600")
        load.wait(CALLS / RATE + 60)
        ramp = time.monotonic() - started
        gevent.sleep(5)
        asked_before = {uuid: len(times) for uuid, times in asked.items()}
        gevent.sleep(HOLD_SECONDS)
        window_start = time.monotonic() - HOLD_SECONDS
        held = sum(
            1
            for uuid, times in asked.items()
            if times
            and times[-1] > time.monotonic() - 2 * EXPECTED_INTERVAL
            and len(times) > asked_before.get(uuid, 0)
        )
        intervals = sorted(
            b - a
            for times in asked.values()
            for a, b in zip(times, times[1:], strict=False)
            if a >= window_start
        )
        sessions = service.outbound.connection_count
    out = sys.stdout
    out.write(
        f"ivr_concurrent_calls: {held} calls stepping ({sessions} IVR sessions open; "
        f"{CALLS} offered in {ramp:.1f} s)\n"
    )
    if intervals:
        p50 = intervals[len(intervals) // 2]
        p99 = intervals[int(len(intervals) * 0.99)]
        behind = sum(1 for i in intervals if i > EXPECTED_INTERVAL + 1.0)
        out.write(f"ivr_step_interval_p50_s: {p50:.2f} s (expected {EXPECTED_INTERVAL:.2f})\n")
        out.write(f"ivr_step_interval_p99_s: {p99:.2f} s\n")
        out.write(f"ivr_steps_behind: {behind} of {len(intervals)} intervals > 1 s late\n")
    out.flush()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    steps_per_second()
    concurrent_calls()


if __name__ == "__main__":
    main()
