"""The schema of every command icm takes from the Redis command bus (issue 18, item 10).

The bus is the trust boundary between the web / Celery and icm: icm does not trust what a
sender checked. `validate(name, args)` runs at the bus's single entry point
(`icm.bus.commands.CommandServer.handle`) before any handler: an unknown command, a missing
or unexpected argument, a wrong type or a badly formed value (a UUID, an agent ID, an
extension, a phone or caller ID number, a name…) refuses the whole command with a clear
error; nothing of it runs. Each value is matched in full (`re.fullmatch`: a trailing newline
is no match), and no single-line value may hold a control character, so nothing a sender puts
in an argument can become a second switch command.

A command's schema lists every argument it may carry; `agent_call` has one set of extra
arguments per `action`. When a sender gains an argument, add it here too.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from icm.domain.recording_policy import FORMATS as RECORDING_FORMATS
from outbound.domain.amd import METHODS as AMD_METHODS


class CommandRefused(ValueError):
    """A bus command icm will not run; `problems` says why, one line per argument."""

    def __init__(self, command: str, problems: list[str]) -> None:
        self.command = command
        self.problems = problems
        super().__init__(f"command {command!r} refused: {'; '.join(problems)}")


@dataclass(frozen=True)
class Format:
    """A string format: a full-match pattern and what it means, for the error message."""

    pattern: re.Pattern[str]
    what: str


def _format(pattern: str, what: str) -> Format:
    return Format(re.compile(pattern), what)


UUID = _format(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "a UUID"
)
AGENT_ID = _format(r"[A-Za-z0-9_.-]{1,32}", "an agent ID (letters, digits, . _ -; 32 at most)")
NAME = _format(r"[A-Za-z0-9_.-]{1,64}", "a name (letters, digits, . _ -; 64 at most)")
EXTENSION = _format(r"[0-9*#+]{1,32}", "an extension (digits, *, #, +)")
NUMBER = _format(r"\+?[0-9]{2,20}", "a phone number (2 to 20 digits, optional leading +)")
DIALLED = _format(r"\+?[0-9*#]{2,20}", "a number to dial (2 to 20 digits, * or #)")
CALLER_ID = _format(r"[0-9*#+]{1,32}", "a caller ID number (digits, *, #, +)")
TOKEN = _format(r"[A-Za-z0-9_-]{1,64}", "an id (letters, digits, _ -)")
TAP = _format(r"[A-Za-z0-9_-]{8,64}", "a tap id (8 to 64 letters, digits, _ -)")
IDEMPOTENCY_KEY = _format(
    r"[A-Za-z0-9_.:+-]{1,100}", "letters, digits, . _ : + - (100 at most)"
)  # a command's idempotency key (icm.bus.commands), checked before anything else
ATTEMPT_KEY = _format(r"[A-Za-z0-9_.:+-]{1,100}", "an attempt key (letters, digits, . _ : + -)")
CAUSE = _format(r"[A-Z_]{3,40}", "a hangup cause (capitals and _)")
METRIC = _format(r"[a-z_]{1,32}", "a metric name")
DTMF = _format(r"[0-9*#A-D]{1,32}", "DTMF digits (0-9, *, #, A-D)")
DOMAIN = _format(r"[A-Za-z0-9._-]{1,255}", "a SIP domain (a host name)")
SOUND = _format(r"[A-Za-z0-9_./:@%=+-]{1,250}", "a sound file path or URL without spaces")
ENDPOINT = _format(
    r"user/[0-9A-Za-z_.@-]{1,64}|loopback/[0-9A-Za-z_*#/-]{1,64}"
    r"|sofia/gateway/[A-Za-z0-9_.-]{1,64}/[0-9+*#]{1,32}",
    "user/<ext>, loopback/<ext> or sofia/gateway/<gateway>/<number>",
)
DESTINATION = _format(r"[0-9A-Za-z*#+_-]{1,40}", "a destination (letters, digits, * # + _ -)")
TARGET = _format(r"[0-9A-Za-z*#+_.-]{1,64}", "a queue, an agent ID, an extension or a number")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # no control character on one line
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, CR, LF allowed
MAX_OBJECT_BYTES = 16_384  # a campaign contact's data, as JSON
# counts and durations: what the database can hold (the handlers clamp them further)
MAX_INT = 2**31 - 1
MAX_NUMBER = 1e9


@dataclass(frozen=True)
class Arg:
    """One argument: its type and, for strings, its format, choices or length."""

    kind: str  # "str", "text" (free text), "bool", "int", "number" or "object"
    required: bool = False
    fmt: Format | None = None
    choices: tuple[str, ...] = ()
    blank: bool = False  # "" means "not given"
    nullable: bool = False  # null means "not given"
    max_length: int = 0  # for "text"
    multiline: bool = False  # for "text"
    minimum: float | None = None
    maximum: float | None = None

    def check(self, name: str, value: Any) -> str | None:
        """None when `value` is fine, else what is wrong with it."""
        if value is None:
            return None if self.nullable and not self.required else f"{name}: a value, not null"
        if self.kind in ("str", "text"):
            return self._check_str(name, value)
        if self.kind == "bool":
            return None if isinstance(value, bool) else f"{name}: true or false"
        if self.kind == "object":
            return _check_object(name, value)
        number_types = (int,) if self.kind == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, number_types):
            return f"{name}: {'an integer' if self.kind == 'int' else 'a number'}"
        if not math.isfinite(value):
            return f"{name}: a finite number"
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            return f"{name}: from {self.minimum:g} to {self.maximum:g}"
        return None

    def _check_str(self, name: str, value: Any) -> str | None:
        if not isinstance(value, str):
            return f"{name}: a string"
        if value == "":
            return f"{name}: missing" if self.required or not self.blank else None
        if self.kind == "text":
            if len(value) > self.max_length:
                return f"{name}: {self.max_length} characters at most"
            control = _CONTROL_MULTILINE if self.multiline else _CONTROL
            return f"{name}: no control characters" if control.search(value) else None
        if self.choices:
            return None if value in self.choices else f"{name}: one of {', '.join(self.choices)}"
        if self.fmt is None or not self.fmt.pattern.fullmatch(value):
            return f"{name}: {self.fmt.what if self.fmt else 'not allowed'}"
        return None


def _check_object(name: str, value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return f"{name}: an object"
    try:
        size = len(json.dumps(value, allow_nan=False).encode())
    except ValueError:
        return f"{name}: plain JSON (no NaN or infinity)"
    return f"{name}: {MAX_OBJECT_BYTES} bytes at most" if size > MAX_OBJECT_BYTES else None


def string(fmt: Format, *, required: bool = False, blank: bool = False) -> Arg:
    """A string argument of a format ("" is accepted as "not given" when `blank`)."""
    return Arg("str", required=required, fmt=fmt, blank=blank)


def choice(*choices: str, required: bool = False) -> Arg:
    return Arg("str", required=required, choices=choices)


def text(max_length: int, *, multiline: bool = False) -> Arg:
    """Free text (a note, a reason, a name), bounded; never put on a switch command line."""
    return Arg("text", blank=True, max_length=max_length, multiline=multiline)


BOOL = Arg("bool")


def integer(minimum: float, maximum: float, *, nullable: bool = False) -> Arg:
    return Arg("int", minimum=minimum, maximum=maximum, nullable=nullable)


def number(minimum: float, maximum: float, *, nullable: bool = False) -> Arg:
    return Arg("number", minimum=minimum, maximum=maximum, nullable=nullable)


Check = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class Schema:
    """A command's arguments; `variants` adds arguments by the value of `variant_key`."""

    args: Mapping[str, Arg]
    variant_key: str = ""
    variants: Mapping[str, Mapping[str, Arg]] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()


def _target_of_kind(args: Mapping[str, Any]) -> str | None:
    """A transfer's or consultation's target is what its kind says."""
    if "target" not in args or "kind" not in args:
        return None
    fmt = {"queue": NAME, "agent": AGENT_ID, "extension": EXTENSION, "number": DIALLED}[
        args["kind"]
    ]
    target = args["target"]
    return None if fmt.pattern.fullmatch(target) else f"target: {fmt.what}"


AGENT = string(AGENT_ID, required=True)
REASON = text(64)  # an ACD reason code (not ready, or who moved the agent)
NOTE = text(1000, multiline=True)
_TARGET = {"target": string(TARGET, required=True), "note": NOTE}
_NO_ARGS: dict[str, Arg] = {}
# the actions of an agent's own call (agent call control, the recorder, campaign previews)
AgentCallAction = Literal[
    "accept",
    "hold",
    "unhold",
    "mute",
    "unmute",
    "hangup",
    "dtmf",
    "transfer",
    "dial",
    "consult",
    "consult_cancel",
    "consult_complete",
    "conference",
    "record_start",
    "record_stop",
    "record_pause",
    "record_resume",
    "preview_call",
    "preview_skip",
    "call_agent",
]
AGENT_CALL_ACTIONS: tuple[str, ...] = get_args(AgentCallAction)

SCHEMAS: dict[str, Schema] = {
    # call control (icm.daemon.calls.commands)
    "hangup": Schema({"uuid": string(UUID, required=True), "cause": string(CAUSE, blank=True)}),
    "hold": Schema({"uuid": string(UUID, required=True), "hold": BOOL}),
    "originate": Schema(
        {
            "endpoint": string(ENDPOINT, required=True),
            "destination": string(DESTINATION, required=True),
            "context": string(NAME, blank=True),
            "caller_id_number": string(CALLER_ID, blank=True),
        }
    ),
    "queue_metric": Schema(
        {"metric": string(METRIC, required=True), "queue": string(NAME, required=True)}
    ),
    # the ACD (icm.daemon.acd.runtime)
    "agent_login": Schema({"agent": AGENT, "ready": BOOL, "reason": REASON}),
    "agent_logout": Schema({"agent": AGENT, "reason": REASON}),
    "agent_ready": Schema({"agent": AGENT, "reason": REASON}),
    "agent_not_ready": Schema({"agent": AGENT, "reason": REASON}),
    "end_wrap_up": Schema({"agent": AGENT, "reason": REASON}),
    "extend_wrap_up": Schema({"agent": AGENT, "seconds": number(1, 3600), "reason": REASON}),
    "agent_reject": Schema({"agent": AGENT, "not_ready": BOOL, "reason": REASON}),
    "agent_pick": Schema(
        {"agent": AGENT, "contact": string(UUID, required=True), "queue": string(NAME)}
    ),
    "reload_queue": Schema({"queue": string(NAME, required=True)}),
    "reload_agent": Schema({"agent": AGENT}),
    # an agent's own call (icm.daemon.acd.agent_calls, the recorder, campaign previews)
    "agent_call": Schema(
        {
            "agent": AGENT,
            "action": choice(*AGENT_CALL_ACTIONS, required=True),
        },
        variant_key="action",
        variants={
            "dtmf": {"digits": string(DTMF, required=True)},
            "transfer": {
                "kind": choice("queue", "agent", "extension", "number", required=True),
                **_TARGET,
                "gateway": string(NAME, blank=True),
                "caller_id": string(CALLER_ID, blank=True),
            },
            "consult": {
                "kind": choice("agent", "extension", "number", required=True),
                **_TARGET,
                "gateway": string(NAME, blank=True),
                "caller_id": string(CALLER_ID, blank=True),
            },
            "dial": {
                "number": string(DIALLED, required=True),
                "gateway": string(NAME, blank=True),
                "caller_id": string(CALLER_ID, blank=True),
            },
            "record_start": {
                "format": choice(*RECORDING_FORMATS),
                "why": text(100),
                "stereo": BOOL,
                "customer": text(200),
            },
            "preview_skip": {"not_ready": BOOL},
            "call_agent": {"target": string(AGENT_ID, required=True)},
        },
        checks=(_target_of_kind,),
    ),
    "callback_ring": Schema(
        {
            "callback": string(TOKEN, required=True),
            "agent": string(AGENT_ID, blank=True),
            "queue": string(NAME, blank=True),
            "number": string(NUMBER, required=True),
            "note": NOTE,
            "customer": text(200),
            # the customer's dial number and ring time (agents.callback_retry)
            "attempt": integer(1, 99),
            "ring_seconds": integer(5, 120),
        }
    ),
    # supervision
    "monitor": Schema(
        {
            "agent": AGENT,
            "extension": string(EXTENSION, required=True),
            "mode": choice("listen", "whisper", "barge", required=True),
        }
    ),
    "intercepts_reload": Schema({}),  # SV-9: the standing intercepts changed
    "live_listen": Schema({"agent": AGENT, "tap": string(TAP, required=True)}),
    "live_listen_stop": Schema({"tap": string(TAP, required=True)}),
    # outbound campaigns (icm.daemon.campaigns.dialer)
    "campaign_dial": Schema(
        {
            "key": string(ATTEMPT_KEY, required=True),
            "campaign": string(NAME, required=True),
            "number": string(NUMBER, required=True),
            "gateway": string(NAME, required=True),
            "mode": choice("progressive", "predictive", "agentless", "preview", required=True),
            "queue": string(NAME, blank=True),
            "caller_id": string(CALLER_ID, blank=True),
            "ring_seconds": integer(0, MAX_INT, nullable=True),
            "amd": BOOL,
            "amd_method": choice(*AMD_METHODS),
            "amd_window": number(0, MAX_NUMBER, nullable=True),
            "machine_action": choice("hangup", "message"),
            "message": string(SOUND, blank=True),
            "calls_per_second": number(0, MAX_NUMBER, nullable=True),
            "flow": string(NAME, blank=True),
            "max_concurrent": integer(0, MAX_INT, nullable=True),
            "attempt": integer(0, MAX_INT, nullable=True),
            "preview_seconds": integer(0, MAX_INT, nullable=True),
            "agent": string(AGENT_ID, blank=True),
            "gateway_max_channels": integer(0, MAX_INT, nullable=True),
            "gateway_calls_per_second": number(0, MAX_NUMBER, nullable=True),
            "data": Arg("object", nullable=True),
        }
    ),
    "campaign_floor": Schema(
        {"campaign": string(NAME, required=True), "queue": string(NAME, blank=True)}
    ),
    "campaign_stop": Schema({"campaign": string(NAME, required=True)}),
    # directory (icm.signals: an extension changed)
    "flush_directory": Schema(
        {"user": string(EXTENSION, required=True), "domain": string(DOMAIN, required=True)}
    ),
    # a phone's message-waiting lamp (voicemail: a message left, heard or deleted)
    "message_waiting": Schema(
        {
            "user": string(EXTENSION, required=True),
            "domain": string(DOMAIN, required=True),
            "new": Arg("int", required=True, minimum=0, maximum=9999),
            "old": Arg("int", required=True, minimum=0, maximum=9999),
        }
    ),
}

# Commands a new icm may run again when the icm that took them died before answering
# (icm.bus.commands.CommandServer.recover): reads, notifications whose latest state wins,
# and commands idempotent by their own key (`campaign_dial` claims its attempt's key in
# Redis and never dials one marked placed). Every other command is answered "outcome
# unknown": running it twice could ring, transfer or originate twice.
RERUNNABLE = frozenset(
    {
        "queue_metric",
        "campaign_floor",
        "campaign_dial",
        "campaign_stop",
        "reload_queue",
        "reload_agent",
        "intercepts_reload",
        "flush_directory",
        "message_waiting",
        "live_listen_stop",
    }
)


def validate(name: str, args: Any) -> dict[str, Any]:
    """`args` of command `name` when every one is as its schema says; else CommandRefused
    naming each problem (an unknown command, a missing, unexpected or malformed argument)."""
    schema = SCHEMAS.get(name)
    if schema is None:
        raise CommandRefused(name[:64], [f"unknown command {name[:64]!r}"])
    if not isinstance(args, dict):
        raise CommandRefused(name, ["args: an object"])
    allowed = dict(schema.args)
    if schema.variant_key:
        allowed.update(schema.variants.get(str(args.get(schema.variant_key)), _NO_ARGS))
    problems = [
        f"{str(key)[:40]!r}: not an argument of {name}" for key in args if key not in allowed
    ]
    for key, arg in allowed.items():
        if key in args:
            problem = arg.check(key, args[key])
        else:
            problem = f"{key}: missing" if arg.required else None
        if problem:
            problems.append(problem)
    if not problems:
        problems = [p for p in (check(args) for check in schema.checks) if p]
    if problems:
        raise CommandRefused(name, problems)
    return args
