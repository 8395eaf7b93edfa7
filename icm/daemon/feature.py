"""What a daemon feature offers the wiring: its contract, and the registry that combines them.

A feature (ACD, consultations, booked call-backs, campaigns, recording, supervision, calls)
is a package under `icm.daemon` with one `contract(...)` function returning a `Contract`:
- `handles`: the inbox items (domain events, requests, its own timers) it applies, in the
  consumer greenlet (the single writer);
- `commands`: the bus commands it accepts (run in a command greenlet);
- `owns_legs`: sees a leg's answer or hang-up before the ACD; True means the leg is its own and
  the ACD must not see it (a consultation's or a booked call-back's leg);
- `follows_legs`: sees every leg's answer and hang-up after the live model applied it;
- `leg_failed` / `job_done`: an originate of its own failed / a background job's reply (True:
  it was its own);
- `legs_to_check`: legs the reconciler must ask the switch about;
- `offer_card`, `ringing_leg`: the agent's contact card and ringing leg, when the feature has
  them (the first feature that answers wins, in the order the wiring lists them);
- `agent_view`: the keys it adds to the agent's live view (desktops and wallboards);
- `takes_request`: answers an agent's ACD request first (True: handled; a reject of a call
  the feature rings);
- `agent_actions`: the actions of the `agent_call` bus command it serves (desktop buttons).
Features never reach into each other: they talk through this registry and the inbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from icm.domain import events as ev

LegEvent = ev.LegAnswered | ev.LegHungUp
Command = Callable[[dict[str, Any]], dict[str, Any]]


def _empty_commands() -> dict[str, Command]:
    return {}


@dataclass(frozen=True)
class Contract:
    name: str
    handles: Sequence[tuple[type, Callable[[Any], object]]] = ()
    commands: Mapping[str, Command] = field(default_factory=_empty_commands)
    owns_legs: Callable[[LegEvent], bool] | None = None
    follows_legs: Callable[[LegEvent], object] | None = None
    leg_failed: Callable[[str, str], bool] | None = None
    job_done: Callable[[str, str], bool] | None = None
    legs_to_check: Callable[[float], list[str]] | None = None
    offer_card: Callable[[str], dict[str, Any] | None] | None = None
    ringing_leg: Callable[[str], str] | None = None
    agent_view: Callable[[str], Mapping[str, Any]] | None = None
    takes_request: Callable[[Any], bool] | None = None
    agent_actions: Mapping[str, Command] = field(default_factory=_empty_commands)


class Features:
    """The contracts of the wired features, in the wiring's order, and what they add up to."""

    def __init__(self) -> None:
        self._contracts: list[Contract] = []

    def add(self, contract: Contract) -> None:
        if any(c.name == contract.name for c in self._contracts):
            raise ValueError(f"feature {contract.name!r} wired twice")
        self._contracts.append(contract)

    def handles(self) -> Iterator[tuple[type, Callable[[Any], object]]]:
        for contract in self._contracts:
            yield from contract.handles

    def commands(self) -> dict[str, Command]:
        table: dict[str, Command] = {}
        for contract in self._contracts:
            for name, run in contract.commands.items():
                if name in table:
                    raise ValueError(f"bus command {name!r} claimed by two features")
                table[name] = run
        return table

    def agent_actions(self) -> dict[str, Command]:
        table: dict[str, Command] = {}
        for contract in self._contracts:
            for name, run in contract.agent_actions.items():
                if name in table:
                    raise ValueError(f"agent action {name!r} claimed by two features")
                table[name] = run
        return table

    def takes_request(self, request: Any) -> bool:
        return any(c.takes_request(request) for c in self._contracts if c.takes_request)

    def owns_leg_event(self, event: LegEvent) -> bool:
        """Offer a leg's answer or hang-up to the features that follow their own legs first
        (True: one of them owned it; the ACD must not see it)."""
        return any(c.owns_legs(event) for c in self._contracts if c.owns_legs)

    def follow_leg_event(self, event: LegEvent) -> None:
        for contract in self._contracts:
            if contract.follows_legs:
                contract.follows_legs(event)

    def leg_failed(self, leg: str, cause: str) -> bool:
        return any(c.leg_failed(leg, cause) for c in self._contracts if c.leg_failed)

    def job_done(self, job_uuid: str, result: str) -> bool:
        return any(c.job_done(job_uuid, result) for c in self._contracts if c.job_done)

    def legs_to_check(self, older_than: float) -> list[str]:
        return [
            leg for c in self._contracts if c.legs_to_check for leg in c.legs_to_check(older_than)
        ]

    def offer_card(self, agent_id: str) -> dict[str, Any] | None:
        for contract in self._contracts:
            card = contract.offer_card(agent_id) if contract.offer_card else None
            if card is not None:
                return card
        return None

    def ringing_leg(self, agent_id: str) -> str:
        for contract in self._contracts:
            leg = contract.ringing_leg(agent_id) if contract.ringing_leg else ""
            if leg:
                return leg
        return ""

    def agent_view(self, agent_id: str) -> dict[str, Any]:
        view: dict[str, Any] = {}
        for contract in self._contracts:
            if contract.agent_view:
                view.update(contract.agent_view(agent_id))
        return view
