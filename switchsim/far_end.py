"""The far end of trunk calls (the outbound issue): who, or what, the number dialled through
a gateway turns out to be — a person who answers, an answering machine, a busy line, a phone
nobody picks up, or a number that does not exist — drawn from a distribution per number
prefix, or scripted number by number. With no rule, a trunk call is answered after
``--gateway-answer-delay`` and stays up (switchsim's behaviour before).

``sim_far_end <prefix|*> answered=35 machine=12 busy=15 no_answer=30 invalid=8 [ring=1-4]
[talk=20-60] [greeting=3-8] [seed=N]`` sets a distribution (weights, any scale);
``sim_far_end <number> busy,no_answer,answered`` scripts successive calls to that number
(the last repeats); ``sim_far_end clear`` forgets every rule.

What each outcome does, as a carrier would:
- ``invalid``: rejected at once, UNALLOCATED_NUMBER (Q.850 1);
- ``busy``: a short ring, then USER_BUSY (17);
- ``no_answer``: rings until the originate's timeout (NO_ANSWER, 19);
- ``answered`` / ``machine``: rings, answers, and hangs up after the talk time (a machine
  after its recording's length); mod_amd's ``amd`` application on such a channel decides
  HUMAN / MACHINE as it would from the audio (switchsim.apps). A machine beeps at the end
  of its greeting (``greeting=3-8`` seconds after answering): mod_avmd hears that beep
  (switchsim.avmd); a person never beeps.
- ``fax``: a fax machine answers (and hangs up after the talk time): ``txfax`` on the leg
  sends it the document, ``rxfax`` receives ``${sim_fax_pages}`` pages (default 1) from it,
  with the station id ``${sim_fax_ident}`` (switchsim.fax).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

OUTCOMES = ("answered", "machine", "busy", "no_answer", "invalid")  # a carrier's usual mix
KINDS = (*OUTCOMES, "fax")  # plus a fax machine, only when a rule names it


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    ring: float  # seconds before the far end answers (or says busy)
    talk: float  # seconds it stays on once answered
    greeting: float = 0.0  # a machine: seconds from its answer to the beep after its greeting


@dataclass
class _Rule:
    prefix: str
    weights: dict[str, float] = field(default_factory=dict)
    script: list[str] = field(default_factory=list)
    ring: tuple[float, float] = (1.0, 4.0)
    talk: tuple[float, float] = (20.0, 60.0)
    greeting: tuple[float, float] = (3.0, 8.0)
    calls: int = 0


def _span(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition("-")
    a, b = float(lo), float(hi or lo)
    if a < 0 or b < a:
        raise ValueError(f"bad range {text!r}")
    return a, b


class FarEnds:
    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[_Rule] = []
        self.rng = random.Random(seed)
        # a machine's greeting length is drawn apart, so the outcome sequence is unchanged
        self.greeting_rng = random.Random(seed)

    def configure(self, args: list[str]) -> str:
        """The ``sim_far_end`` api; its reply."""
        if not args:
            return "-USAGE: sim_far_end <prefix|*|number> k=v … | <number> o1,o2,… | clear\n"
        if args[0] == "clear":
            self.rules.clear()
            return "+OK cleared\n"
        prefix = "" if args[0] == "*" else args[0]
        rule = _Rule(prefix)
        try:
            for word in args[1:]:
                key, eq, value = word.partition("=")
                if not eq:
                    script = [w.strip() for w in word.split(",") if w.strip()]
                    if any(w not in KINDS for w in script):
                        raise ValueError(f"outcomes are {', '.join(KINDS)}")
                    rule.script.extend(script)
                elif key in KINDS:
                    rule.weights[key] = float(value)
                elif key == "ring":
                    rule.ring = _span(value)
                elif key == "talk":
                    rule.talk = _span(value)
                elif key == "greeting":
                    rule.greeting = _span(value)
                elif key == "seed":
                    self.rng.seed(int(value))
                    self.greeting_rng.seed(int(value))
                else:
                    raise ValueError(f"unknown setting {key!r}")
        except ValueError as exc:
            return f"-ERR {exc}\n"
        if not rule.script and not any(w > 0 for w in rule.weights.values()):
            return "-ERR give outcome weights (answered=35 …) or a script (busy,answered)\n"
        self.rules = [r for r in self.rules if r.prefix != prefix]
        self.rules.append(rule)
        self.rules.sort(key=lambda r: -len(r.prefix))  # the longest prefix first
        return f"+OK far end {args[0]}\n"

    def next_for(self, number: str) -> Outcome | None:
        """The outcome of the next call to `number`, or None (the old behaviour)."""
        digits = number.lstrip("+")
        rule = next((r for r in self.rules if digits.startswith(r.prefix.lstrip("+"))), None)
        if rule is None:
            return None
        if rule.script:
            kind = rule.script[min(rule.calls, len(rule.script) - 1)]
        else:
            kinds = [k for k in KINDS if rule.weights.get(k, 0) > 0]
            kind = self.rng.choices(kinds, [rule.weights[k] for k in kinds])[0]
        rule.calls += 1
        ring, talk = self.rng.uniform(*rule.ring), self.rng.uniform(*rule.talk)
        greeting = 0.0
        if kind == "machine":
            greeting = min(self.greeting_rng.uniform(*rule.greeting), max(0.0, talk - 0.5))
        return Outcome(kind, ring, talk, greeting)
