"""ACD routing benchmark (domain core): decision latency with 1,000 agents, 50 queues and
2,000 waiting contacts. Prints routing_p50_ms and routing_p99_ms.

A decision is one engine call that ends in an offer: an agent becoming ready and taking the
best waiting contact of its queues, or a contact arriving while agents are free.
"""

from __future__ import annotations

import logging
import random
import sys
import time

from icm.domain.acd.engine import Acd
from icm.domain.acd.model import Contact, EscalationStep, QueuePolicy
from icm.domain.acd.outputs import OfferContact
from icm.domain.acd.strategies import STRATEGIES

AGENTS, QUEUES, WAITING, DECISIONS = 1000, 50, 2000, 5000
SKILLS = [f"skill{i}" for i in range(20)]


def build(rng: random.Random) -> Acd:
    acd = Acd(rng=random.Random(1))
    strategies = sorted(STRATEGIES)
    for q in range(QUEUES):
        skills = {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(1, 2))}
        acd.set_policy(
            QueuePolicy(
                f"q{q}",
                strategies[q % len(strategies)],
                skills,
                escalation=(EscalationStep(30, 2),),
                priority_mode="weighted" if q % 3 else "strict",
            ),
            0,
        )
    for a in range(AGENTS):
        skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(3, 6))}
        acd.set_agent(f"a{a:04d}", skills, order=a)
        acd.login(f"a{a:04d}", 0, ready=False)
    for c in range(WAITING):
        acd.enqueue(
            Contact(
                f"c{c}", f"q{rng.randrange(QUEUES)}", c * 0.01, priority=rng.choice([0, 0, 0, 1, 5])
            ),
            c * 0.01,
        )
    return acd


def main() -> None:
    logging.disable(logging.INFO)
    rng = random.Random(42)
    acd = build(rng)
    now = 100.0
    latencies: list[float] = []
    agent_ids = sorted(acd.agents)
    serial = WAITING
    while len(latencies) < DECISIONS:
        now += 0.01
        agent_id = rng.choice(agent_ids)
        agent = acd.agents[agent_id]
        if agent.state.value != "not_ready":
            continue
        started = time.perf_counter()
        out = acd.set_ready(agent_id, now)
        elapsed = time.perf_counter() - started
        offer = next((o for o in out if isinstance(o, OfferContact)), None)
        if offer is None:
            acd.set_not_ready(agent_id, now, "bench")
            continue
        latencies.append(elapsed)
        for other in offer.agent_ids:  # ring-all may ring several
            if other != agent_id:
                acd.offer_failed(offer.contact_id, other, now, "rejected_not_ready")
        taker = offer.agent_ids[0] if agent_id not in offer.agent_ids else agent_id
        acd.offer_answered(offer.contact_id, taker, now)
        acd.call_ended(taker, now)
        acd.end_wrap_up(taker, now)
        acd.set_not_ready(taker, now, "bench")
        if acd.agents[agent_id].state.value == "ready":
            acd.set_not_ready(agent_id, now, "bench")
        # keep the queues full: a new contact for each one served
        serial += 1
        acd.enqueue(Contact(f"c{serial}", f"q{rng.randrange(QUEUES)}", now), now)
    waiting = sum(len(w) for w in acd.waiting.values())
    latencies.sort()
    out = sys.stdout
    out.write(f"routing_p50_ms: {latencies[len(latencies) // 2] * 1000:.3f} ms\n")
    out.write(f"routing_p99_ms: {latencies[int(len(latencies) * 0.99)] * 1000:.3f} ms\n")
    out.write(f"routing_decisions: {len(latencies)} decisions\n")
    out.write(f"routing_waiting_contacts: {waiting} contacts\n")


if __name__ == "__main__":
    main()
