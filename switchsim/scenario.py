"""Scenario files: extensions, agent-phone behaviour, callers and traffic (TOML).

Owns loading ``--scenario`` / ``--demo`` files into the :class:`~switchsim.world.World` and
the Poisson traffic generator of inbound trunk calls. Format::

    [trunk]
    host = "198.51.100.10"
    [[extensions]]
    range = "1001-1010"          # or ext = "1001"
    register = true
    behaviour = "answer"         # answer | noanswer | busy
    answer_delay = [1.0, 3.0]
    [callers]
    talk = [10, 60]              # seconds once bridged
    patience = [20, 90]          # seconds before abandoning while not bridged
    dtmf = "random"              # or "1,42#": answers to successive digit prompts
    record_seconds = 3
    [traffic]
    rate = 0.25                  # calls per second (Poisson arrivals); 0 = no traffic
    dnis = ["8000"]
    ani_prefix = "+1555"         # ANI = prefix + 7 random digits (or ani = ["..."])
    max_calls = 0                # 0 = unlimited
    [far_ends]                   # who answers calls dialed out through a gateway
    rules = ["* answered=35 machine=12 busy=15 no_answer=30 invalid=8 ring=2-6 talk=20-90"]
"""

from __future__ import annotations

import asyncio
import logging
import random
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from switchsim.world import CallerSpec, PhoneBehaviour, World

log = logging.getLogger(__name__)


def _range(value: Any, default: tuple[float, float] | None) -> tuple[float, float] | None:
    if value is None:
        return default
    if isinstance(value, int | float):
        return (float(value), float(value))
    lo, hi = value
    return (float(lo), float(hi))


def _extensions(spec: dict[str, Any]) -> list[str]:
    if "ext" in spec:
        return [str(spec["ext"])]
    lo, _, hi = str(spec["range"]).partition("-")
    width = len(lo)
    return [str(n).zfill(width) for n in range(int(lo), int(hi or lo) + 1)]


class Scenario:
    """A parsed scenario; :meth:`apply` sets up the world, :meth:`run_traffic` generates calls."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        c = data.get("callers", {})
        self.caller = CallerSpec(
            talk=_range(c.get("talk"), (10.0, 60.0)) or (10.0, 60.0),
            patience=_range(c.get("patience"), None),
            dtmf=str(c.get("dtmf", "")),
            record_seconds=float(c.get("record_seconds", 3.0)),
        )
        t = data.get("traffic", {})
        self.rate = float(t.get("rate", 0))
        self.dnis = [str(d) for d in t.get("dnis", ["8000"])]
        self.ani = [str(a) for a in t.get("ani", [])]
        self.ani_prefix = str(t.get("ani_prefix", "+1555"))
        self.max_calls = int(t.get("max_calls", 0))

    @classmethod
    def load(cls, path: Path | None, demo: bool = False) -> Scenario:
        if path is None and demo:
            text = resources.files("switchsim").joinpath("demo_scenario.toml").read_text()
        elif path is not None:
            text = path.read_text()
        else:
            return cls({})
        return cls(tomllib.loads(text))

    def apply(self, world: World) -> None:
        trunk = self.data.get("trunk", {})
        world.trunk_host = str(trunk.get("host", world.trunk_host))
        for spec in self.data.get("extensions", []):
            behaviour = PhoneBehaviour(
                str(spec.get("behaviour", "answer")),
                _range(spec.get("answer_delay"), (1.0, 3.0)) or (1.0, 3.0),
            )
            for ext in _extensions(spec):
                world.phones[ext] = behaviour
                if spec.get("register", True):
                    world.register(ext)
        for rule in self.data.get("far_ends", {}).get("rules", []):  # as sim_far_end takes them
            reply = world.sw.far_ends.configure(str(rule).split())
            if not reply.startswith("+OK"):
                raise ValueError(f"far_ends rule {rule!r}: {reply.strip()}")

    async def run_traffic(self, world: World) -> None:
        if self.rate <= 0:
            return
        made = 0
        log.info("traffic: %.3f calls/s to %s", self.rate, ",".join(self.dnis))
        while not self.max_calls or made < self.max_calls:
            await asyncio.sleep(random.expovariate(self.rate))
            ani = (
                random.choice(self.ani)
                if self.ani
                else (self.ani_prefix + "".join(random.choice("0123456789") for _ in range(7)))
            )
            try:
                world.inbound_call(ani, random.choice(self.dnis), self.caller)
            except Exception:
                log.exception("traffic: creating a call failed")
            made += 1
