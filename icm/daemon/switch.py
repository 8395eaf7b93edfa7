"""The switch as the daemon's features see it, whatever its make (ARC-3, CTI-1).

A switch adapter (today `icm.daemon.freeswitch`) gives the daemon one `SwitchDriver`: it keeps
a connection up, subscribes, resyncs after a (re)connect and feeds the inbox with its frames;
`decode` turns each frame into a domain event; commands go out as typed domain commands
(`icm.domain.commands`), rendered to the switch's own syntax inside the adapter only. Features
catch `SwitchNotConnected` and `CommandRefused`, never an adapter's own exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from icm.domain import commands as cmd
from icm.domain import events as ev


class SwitchNotConnected(ConnectionError):
    """The switch is not connected (or the connection dropped while a command ran)."""


class CommandRefused(ValueError):
    """A command argument no switch may be given (the adapter refused to render it)."""


@dataclass(frozen=True, slots=True)
class ResyncReady:
    """The switch's full state after a (re)connect, put in the inbox at its exact place in
    the event stream (events before it are older, events after it newer)."""

    event: ev.SwitchResynced


class Flag(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class SwitchDriver(Protocol):
    connected: Flag  # set while a subscribed, resynced connection is up

    def run(self) -> None:
        """Connect, subscribe, resync; reconnect with back-off until stop(). Never raises."""

    def stop(self) -> None: ...

    def api(self, command: cmd.SwitchCommand) -> str:
        """Run a command and return the switch's reply text."""
        ...

    def bgapi(self, command: cmd.SwitchCommand) -> str:
        """Start a background command; the switch's acceptance text."""
        ...

    def bgapi_nowait(self, command: cmd.SwitchCommand) -> str:
        """Start a background command without waiting; our job id (its JobDone carries it)."""
        ...

    def gateway_states(self) -> list[ev.GatewayStateChanged]:
        """Every trunk's state now (after a reconnect: changes may have been missed)."""
        ...


@dataclass(frozen=True)
class SwitchAdapter:
    """One make of switch: how to build its driver and read its frames."""

    make: str
    driver: Callable[..., SwitchDriver]
    decode: Callable[[str, Mapping[str, Any]], object | None]
