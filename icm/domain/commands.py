"""Commands the domain asks of a switch, independent of FreeSWITCH syntax (CTI-1)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HangupLeg:
    uuid: str
    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True, slots=True)
class HoldLeg:
    uuid: str
    hold: bool = True


@dataclass(frozen=True, slots=True)
class OriginateCall:
    """Call `endpoint` (e.g. user/1001) and, once answered, run `destination` in `context`."""

    endpoint: str
    destination: str
    context: str = "default"
    caller_id_number: str = ""
    caller_id_name: str = ""
    uuid: str = ""
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FlushDirectoryUser:
    """Forget the switch's cached directory entry of `user`@`domain` (it changed)."""

    user: str
    domain: str


@dataclass(frozen=True, slots=True)
class GetVariable:
    """Read one channel variable of a leg."""

    uuid: str
    name: str


SwitchCommand = HangupLeg | HoldLeg | OriginateCall | FlushDirectoryUser | GetVariable
