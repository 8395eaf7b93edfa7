"""Outbound benchmarks (issue 9): pacing accuracy — a campaign's attempts handed to a real
icm (its CampaignDialer, as `campaign_dial` does) and placed on switchsim through a gateway,
the achieved originate rate against the setting at 10 and 50 calls/s — and the predictive
dialer against progressive on the same list (20 agents, a simulated hour, five seeds:
outbound.domain.simulation). Prints pacing_error_pct, predictive_abandon_pct,
predictive_occupancy_pct and progressive_occupancy_pct.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import time  # noqa: E402

import django  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
django.setup()

import gevent  # noqa: E402

from bench.harness import icm_on_switchsim, sim_api, wait  # noqa: E402
from outbound.domain.predictive import DialMode  # noqa: E402
from outbound.domain.simulation import SimulationConfig, contact_list, simulate  # noqa: E402

SECONDS = float(os.environ.get("BENCH_OUTBOUND_SECONDS", "20"))
SEEDS = (1, 2, 3, 4, 5)


def pacing(rate: float) -> tuple[float, int]:
    """(achieved calls/s, calls placed) for `rate` over SECONDS."""
    with icm_on_switchsim("--gateway-answer-delay", "0.1") as (service, esl_port):
        sim_api(esl_port, "sim_far_end * invalid")  # rejected at once: caps never fill
        dialer = service.campaigns
        placed: list[float] = []
        original = dialer._originate

        def timed(call):
            placed.append(time.monotonic())
            return original(call)

        dialer._originate = timed
        calls = int(rate * SECONDS) + 1
        for n in range(calls):
            dialer.dial(
                {
                    "key": f"bench-{rate:g}-{n}-{time.time_ns()}",
                    "campaign": "bench",
                    "number": f"555{n:07d}",
                    "gateway": "carrier",
                    "mode": "agentless",
                    "calls_per_second": rate,
                    "max_concurrent": 10_000,
                }
            )
        wait(lambda: len(placed) >= calls, SECONDS * 3 + 10, "every call placed")
        gevent.sleep(0.5)
        span = placed[-1] - placed[0]
        return (len(placed) - 1) / span, len(placed)


def main() -> None:
    errors = []
    for rate in (10.0, 50.0):
        achieved, n = pacing(rate)
        error = abs(achieved - rate) / rate * 100
        errors.append(error)
        print(
            f"outbound_pacing_{rate:g}_cps: {achieved:.3f} achieved over {n} calls "
            f"({error:.3f} % off)"
        )
    print(f"pacing_error_pct: {max(errors):.3f}")
    runs = {}
    started = time.perf_counter()
    for mode in (DialMode.PREDICTIVE, DialMode.PROGRESSIVE):
        runs[mode] = [
            simulate(contact_list(5000, seed), SimulationConfig(mode, agents=20, seed=seed))
            for seed in SEEDS
        ]
    took = time.perf_counter() - started
    pred, prog = runs[DialMode.PREDICTIVE], runs[DialMode.PROGRESSIVE]
    for seed, a, b in zip(SEEDS, pred, prog, strict=True):
        print(
            f"outbound_seed_{seed}: predictive abandon {100 * a.abandon_rate:.2f} % "
            f"({a.abandoned} of {a.answered}), occupancy {100 * a.occupancy:.1f} % vs "
            f"progressive {100 * b.occupancy:.1f} %; connects per agent-hour "
            f"{a.connects_per_agent_hour:.1f} vs {b.connects_per_agent_hour:.1f}"
        )
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    print(
        f"predictive_abandon_pct: {100 * mean([r.abandon_rate for r in pred]):.2f} "
        f"(worst seed {100 * max(r.abandon_rate for r in pred):.2f})"
    )
    print(f"predictive_occupancy_pct: {100 * mean([r.occupancy for r in pred]):.1f}")
    print(f"progressive_occupancy_pct: {100 * mean([r.occupancy for r in prog]):.1f}")
    print(f"outbound_simulation_s: {took:.2f} (10 simulated hours, 20 agents, 5,000 contacts)")


if __name__ == "__main__":
    main()
