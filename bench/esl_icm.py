"""ESL ingest benchmark: switchsim floods calls, the real icm service ingests them.

Prints `esl_events_per_s` (events icm received and applied per second while switchsim emits
as fast as it can) and `icm_kb_per_call` (resident memory of icm per live call).
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
import psutil  # noqa: E402

from bench.harness import icm_on_switchsim, sim_api, wait  # noqa: E402
from icm.daemon.freeswitch.driver import SETTLE_RESYNC_SECONDS  # noqa: E402
from icm.daemon.wiring import IcmService  # noqa: E402

FLOOD_CALLS = int(os.environ.get("BENCH_FLOOD_CALLS", "6000"))
MEMORY_CALLS = int(os.environ.get("BENCH_MEMORY_CALLS", "3000"))


def _flood(service: IcmService, esl_port: int, me: psutil.Process) -> dict[str, float]:
    """sim_load FLOOD_CALLS short calls; events/s received and icm CPU per event."""
    gevent.sleep(1)
    conn = service.driver.connection
    start_events = conn.events_received
    cpu_before = sum(me.cpu_times()[:2])
    started = time.monotonic()
    sim_api(esl_port, f"sim_load {FLOOD_CALLS} 0")
    wait(
        lambda: (
            service.model.leg_count() == 0
            and service.inbox.empty()
            and conn.events_received > start_events
        ),
        300,
        "flood to drain",
    )
    last = -1
    while conn.events_received != last:  # until nothing more arrives
        last = conn.events_received
        gevent.sleep(0.3)
    elapsed = time.monotonic() - started - 0.3
    cpu = sum(me.cpu_times()[:2]) - cpu_before
    events = conn.events_received - start_events
    return {"rate": events / elapsed, "events": events, "cpu_us": cpu / events * 1e6}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with icm_on_switchsim() as (service, esl_port):
        # 1. memory per live call, measured first (before the flood grows Python's heap) and
        #    after the settle resync that follows a connect.
        gevent.sleep(SETTLE_RESYNC_SECONDS + 2)
        me = psutil.Process()
        rss_before = me.memory_info().rss
        sim_api(esl_port, f"sim_load {MEMORY_CALLS} 600000")
        wait(
            lambda: len(service.model) >= MEMORY_CALLS and service.inbox.empty(),
            300,
            "calls to be up",
        )
        gevent.sleep(2)  # let the publisher and persister flush their batches
        rss_after = me.memory_info().rss
        per_call = (rss_after - rss_before) / 1024 / len(service.model)
        sim_api(esl_port, "hupall NORMAL_CLEARING")
        wait(lambda: len(service.model) == 0, 120, "calls to end")

        # 2. throughput: short calls created as fast as switchsim can, the full pipeline on,
        #    first with icm's own subscription, then with every event switchsim has.
        out = sys.stdout
        flood = _flood(service, esl_port, me)
        out.write(f"esl_events_per_s: {flood['rate']:.0f} 1/s\n")
        out.write(f"esl_events_ingested: {flood['events']} events\n")
        out.write(f"icm_cpu_us_per_event: {flood['cpu_us']:.0f} us\n")
        out.write(f"icm_events_per_cpu_s: {1e6 / flood['cpu_us']:.0f} 1/s\n")
        service.driver.connection.send("event json ALL")
        flood = _flood(service, esl_port, me)
        out.write(f"esl_events_per_s_all_events: {flood['rate']:.0f} 1/s\n")
        out.write(f"icm_cpu_us_per_event_all_events: {flood['cpu_us']:.0f} us\n")
        out.write(f"icm_kb_per_call: {per_call:.1f} KB\n")
        out.flush()


if __name__ == "__main__":
    main()
