"""The switch as the daemon's features see it, whatever its make (ARC-3, CTI-1).

A switch adapter (today `icm.daemon.freeswitch`) gives the daemon one `SwitchDriver`: it keeps
a connection up, subscribes, resyncs after a (re)connect and feeds the inbox with its frames;
`decode` turns each frame into a domain event; commands go out as typed domain commands
(`icm.domain.commands`), rendered to the switch's own syntax inside the adapter only. Features
catch `SwitchNotConnected` and `CommandRefused`, never an adapter's own exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from icm.domain import commands as cmd
from icm.domain import events as ev


class SwitchNotConnected(ConnectionError):
    """The switch is not connected (or the connection dropped while a command ran)."""


class CommandRefused(ValueError):
    """A command argument no switch may be given (the adapter refused to render it)."""


class CallGone(Exception):
    """The caller's channel is gone, or its session with icm closed (the IVR stops)."""


@dataclass(frozen=True, slots=True)
class CallInfo:
    """A call handed to icm's outbound socket, as the IVR needs it."""

    uuid: str  # the channel
    call_uuid: str  # the call it belongs to
    dnis: str
    ani: str
    caller_name: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)  # channel variables (ipbx_*)


class CallSession(Protocol):
    """One caller's channel given to icm to run (the switch's outbound socket): the IVR
    plays, collects and hands the caller to a queue through it. A method that finds the
    channel gone raises `CallGone`."""

    info: CallInfo

    @property
    def up(self) -> bool:
        """The channel and its session are still there."""
        ...

    def keep_events(self) -> None:
        """Receive this channel's events, and keep the session until they have all come."""

    def execute(self, app: cmd.App, block: bool = False, timeout: float | None = None) -> Any:
        """Run one application on the channel (`block`: wait until it finished)."""

    def api(self, command: cmd.SwitchCommand) -> Any: ...

    def answer(self) -> Any: ...

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None: ...

    def on_dtmf(self, handler: Callable[[str], None]) -> None:
        """Call `handler(digit)` for every key the caller presses from now on."""

    def on_back_from_bridge(self, handler: Callable[[bool], None]) -> None:
        """Call `handler(True)` when the channel, once bridged, is parked (the other party
        hung up and the switch parked it by `park_after_bridge`, or it was parked on
        purpose), and `handler(False)` when it is bridged again."""


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
