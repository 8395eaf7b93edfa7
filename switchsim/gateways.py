"""SIP trunk gateways as mod_sofia keeps them: registration state and ping status, the
``CUSTOM sofia::gateway_state`` event fired on a change (sofia_reg.c
``sofia_reg_fire_custom_gateway_state_event``: Gateway, State, Ping-Status, Phrase, Status)
and ``sofia xmlstatus gateway [name]`` (mod_sofia.c ``xml_gateway_status``).

A gateway exists from its first use (as if configured and registered: REGED, UP) or from
``sim_gateway <name> <state> [UP|DOWN] [phrase]``. A gateway whose ping status is DOWN
refuses originates with GATEWAY_DOWN and creates no channel, as sofia_outgoing_channel does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# sofia_state_names[] (mod_sofia.c), in reg_state_t order
STATES = (
    "UNREGED",
    "TRYING",
    "REGISTER",
    "REGED",
    "UNREGISTER",
    "FAILED",
    "FAIL_WAIT",
    "EXPIRED",
    "NOREG",
    "DOWN",
    "TIMEOUT",
)
PING_STATUS = ("DOWN", "UP")  # sofia_gateway_status_name
W_STATE = ("sofia_reg.c", "sofia_reg_fire_custom_gateway_state_event", 171)
XML_HEADER = '<?xml version="1.0" encoding="ISO-8859-1"?>'


@dataclass
class Gateway:
    name: str
    state: str = "REGED"
    status: str = "UP"
    since: float = field(default_factory=time.time)
    calls_out: int = 0
    failed_calls_out: int = 0


class Gateways:
    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.known: dict[str, Gateway] = {}
        self.declared = False  # --gateway given: unknown names are INVALID_GATEWAY

    def declare(self, names: list[str]) -> None:
        for name in names:
            self.get(name)
        self.declared = bool(names)

    def find(self, name: str) -> Gateway | None:
        """The gateway if configured; without ``--gateway`` options any name is (made on
        first use), with them only those and the ones ``sim_gateway`` made exist."""
        if self.declared and name not in self.known:
            return None
        return self.get(name)

    def get(self, name: str) -> Gateway:
        """The gateway, made on first use (configured and registered)."""
        if name not in self.known:
            self.known[name] = Gateway(name)
        return self.known[name]

    def set(self, name: str, state: str, status: str = "", phrase: str = "") -> Gateway:
        """Change a gateway's registration state (and ping status) and fire the event."""
        state, status = state.upper(), (status or "").upper()
        if state not in STATES:
            raise ValueError(f"state is one of {', '.join(STATES)}")
        if status and status not in PING_STATUS:
            raise ValueError("ping status is UP or DOWN")
        gw = self.get(name)
        gw.state = state
        gw.status = status or ("UP" if state in ("REGED", "NOREG") else gw.status)
        gw.since = time.time()
        headers = [("Gateway", gw.name), ("State", gw.state), ("Ping-Status", gw.status)]
        if phrase:
            headers.append(("Phrase", phrase))
        self.bus.emit("CUSTOM", W_STATE, headers, subclass="sofia::gateway_state")
        return gw

    def xmlstatus(self, name: str = "") -> str:
        """``sofia xmlstatus gateway`` (all) or ``sofia xmlstatus gateway <name>``."""
        if name:
            gw = self.known.get(name)
            if gw is None:
                return "Invalid Gateway!\n"
            return f"{XML_HEADER}\n{_xml(gw)}"
        body = "".join(_xml(gw) for gw in self.known.values())
        return f"{XML_HEADER}\n<gateways>\n{body}</gateways>\n"


def _xml(gw: Gateway) -> str:
    up = gw.status == "UP"
    uptime = int((time.time() - gw.since) * 1_000_000) if up else 0
    return (
        "  <gateway>\n"
        f"    <name>{gw.name}</name>\n"
        "    <profile>external</profile>\n"
        "    <scheme>Digest</scheme>\n"
        f"    <realm>{gw.name}</realm>\n"
        "    <username>ipbx</username>\n"
        "    <password>yes</password>\n"
        f"    <to>sip:ipbx@{gw.name}</to>\n"
        f"    <proxy>sip:{gw.name}</proxy>\n"
        "    <context>public</context>\n"
        "    <expires>3600</expires>\n"
        "    <freq>3600</freq>\n"
        "    <ping>0</ping>\n"
        "    <pingfreq>0</pingfreq>\n"
        f"    <state>{gw.state}</state>\n"
        f"    <status>{gw.status}</status>\n"
        f"    <uptime-usec>{uptime}</uptime-usec>\n"
        "    <calls-in>0</calls-in>\n"
        f"    <calls-out>{gw.calls_out}</calls-out>\n"
        "    <failed-calls-in>0</failed-calls-in>\n"
        f"    <failed-calls-out>{gw.failed_calls_out}</failed-calls-out>\n"
        "  </gateway>\n"
    )
