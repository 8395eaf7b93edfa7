"""ACD end to end through switchsim + ESL with one icm: offered calls per second and
dispatch latency (ESL event or queued contact → originate leaving icm).

Two runs of calls through IVR, routing look-ups and the queue to 150 agents' phones:
- at the nominal rate (BENCH_ACD_RATE, 100 calls/s): dispatch_p50_ms, dispatch_p99_ms and
  icm_cpu_ms_per_call (icm's CPU time per call offered: the figure least moved by a busy
  machine);
- at more than icm should need to sustain (BENCH_ACD_PEAK_RATE, 150 calls/s):
  offered_calls_per_s, the calls icm offered per second from the first call sent to the
  last offer. (A generator at exactly the goal rate can only show less than it: its start
  and the last caller's IVR time count too.)
"""

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import django  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
django.setup()

import gevent  # noqa: E402

from agents.models import Agent, AgentSkill, AgentStateChange, Skill  # noqa: E402
from bench.harness import icm_on_switchsim, sim_api, start_load  # noqa: E402
from icm.daemon.acd.messages import AcdRequest  # noqa: E402
from icm.daemon.wiring import IcmService  # noqa: E402
from icm.models import Extension, InboundRoute, Queue, QueueSkill, Site  # noqa: E402

AGENTS = int(os.environ.get("BENCH_ACD_AGENTS", "150"))
RATE = float(os.environ.get("BENCH_ACD_RATE", "100"))  # calls per second, latency run
PEAK_RATE = float(os.environ.get("BENCH_ACD_PEAK_RATE", "150"))  # calls per second, throughput
SECONDS = float(os.environ.get("BENCH_ACD_SECONDS", "10"))
DNIS = "8555"


def _call_center() -> None:
    """The bench queue, its agents and route (recreated each run)."""
    AgentStateChange.objects.filter(agent__login_id__startswith="bench-").delete()
    Agent.objects.filter(login_id__startswith="bench-").delete()
    InboundRoute.objects.filter(dnis=DNIS).delete()
    Queue.objects.filter(name="bench").delete()
    site, _ = Site.objects.get_or_create(
        code="bench", defaults={"name": "Bench", "sip_domain": "bench.local"}
    )
    skill, _ = Skill.objects.get_or_create(name="bench")
    queue = Queue.objects.create(
        site=site,
        name="bench",
        display_name="Bench",
        wrap_up_seconds=0,
        strategy="longest_idle",
        strategy_parameters={"ring_timeout": 10},
    )
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=1)
    InboundRoute.objects.create(site=site, name="bench", dnis=DNIS, queue=queue)
    for i in range(AGENTS):
        ext, _ = Extension.objects.get_or_create(
            site=site, number=f"{3000 + i}", defaults={"password": "x"}
        )
        agent = Agent.objects.create(login_id=f"bench-{i:03d}", name=f"Bench {i}", extension=ext)
        AgentSkill.objects.create(agent=agent, skill=skill, level=5)


def _acd(service: IcmService, name: str, **args) -> None:
    request = AcdRequest(name, args)
    service.inbox.put(request)
    request.result.get(timeout=10)


def _drive(service: IcmService, esl_port: int, rate: float, total: int) -> tuple[int, float, float]:
    """`total` calls at `rate` per second from a generator process: (calls offered, seconds
    from the first call sent to the last offer, icm's CPU seconds meanwhile)."""
    runtime = service.acd
    offers_before = runtime.offers_sent
    cpu_before = time.process_time()
    started = time.monotonic()
    load = start_load(esl_port, rate, total, DNIS)
    while runtime.offers_sent - offers_before < total and time.monotonic() - started < 120:
        gevent.sleep(0.05)
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_before
    load.wait(30)
    return runtime.offers_sent - offers_before, elapsed, cpu


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    _call_center()
    with icm_on_switchsim("--playback-seconds", "0.05") as (service, esl_port):
        for i in range(AGENTS):
            sim_api(esl_port, f"sim_register {3000 + i} answer:0.05")
            _acd(service, "agent_login", agent=f"bench-{i:03d}")
        gevent.sleep(1)
        runtime = service.acd
        runtime.dispatch_latencies.clear()
        nominal = int(RATE * SECONDS)
        offered, elapsed, cpu = _drive(service, esl_port, RATE, nominal)
        latencies = sorted(runtime.dispatch_latencies)
        gevent.sleep(3)  # the calls end, the agents are free again
        peak = int(PEAK_RATE * SECONDS)
        peak_offered, peak_elapsed, _cpu = _drive(service, esl_port, PEAK_RATE, peak)
        out = sys.stdout
        out.write(f"offered_calls_per_s: {peak_offered / peak_elapsed:.0f} 1/s\n")
        out.write(
            f"offered_calls: {peak_offered} calls of {peak} sent at {PEAK_RATE:.0f}/s"
            f" in {peak_elapsed:.1f} s\n"
        )
        out.write(
            f"nominal_offered_calls: {offered} calls of {nominal} sent at {RATE:.0f}/s"
            f" in {elapsed:.1f} s\n"
        )
        out.write(f"icm_cpu_ms_per_call: {cpu / max(offered, 1) * 1000:.2f} ms\n")
        if latencies:
            out.write(f"dispatch_p50_ms: {latencies[len(latencies) // 2] * 1000:.2f} ms\n")
            out.write(f"dispatch_p99_ms: {latencies[int(len(latencies) * 0.99)] * 1000:.2f} ms\n")
        out.flush()


if __name__ == "__main__":
    main()
