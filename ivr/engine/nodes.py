"""IVR flow node types (IVR-1, IVR-2, IVR-4): required parameters, exits, expressions.

A flow version's graph is JSON: `{"start": "<node id>", "nodes": {"<id>": {"type": …,
<parameters>, "exits": {"<exit name>": "<node id>"}}}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class NodeSpec:
    required: tuple[str, ...] = ()  # parameters that must be present
    exits: tuple[str, ...] = ()  # exits that must lead somewhere
    optional_exits: tuple[str, ...] = ()
    expressions: tuple[str, ...] = ()  # parameters holding expressions
    assigns: tuple[str, ...] = ()  # parameters naming variables it sets
    waits: bool = False  # takes time or input (a loop through it is not a busy loop)
    dynamic_exits: bool = False  # exits named by the flow (menu choices, switch cases)
    terminal: bool = False
    speaks: bool = False  # must say something (text, file, say or prompts)


SPECS: dict[str, NodeSpec] = {
    "play": NodeSpec(exits=("next",), waits=True, speaks=True),
    "menu": NodeSpec(
        required=("prompt",), optional_exits=("timeout", "invalid"), waits=True, dynamic_exits=True
    ),
    "collect": NodeSpec(
        required=("prompt", "variable"),
        exits=("next",),
        optional_exits=("timeout", "invalid"),
        assigns=("variable",),
        waits=True,
    ),
    "record": NodeSpec(required=("variable",), exits=("next",), assigns=("variable",), waits=True),
    "set": NodeSpec(
        required=("variable", "value"),
        exits=("next",),
        expressions=("value",),
        assigns=("variable",),
    ),
    "condition": NodeSpec(
        required=("expression",), exits=("true", "false"), expressions=("expression",)
    ),
    "switch": NodeSpec(
        required=("value",), optional_exits=("default",), expressions=("value",), dynamic_exits=True
    ),
    "goto": NodeSpec(exits=("next",)),
    "schedule": NodeSpec(required=("schedule",), exits=("open", "closed")),
    "lookup": NodeSpec(
        required=("connector", "variable"),
        exits=("next", "error"),
        optional_exits=("not_found",),
        assigns=("variable",),
    ),
    "icm_value": NodeSpec(
        required=("metric", "variable"),
        exits=("next",),
        optional_exits=("error",),
        assigns=("variable",),
    ),
    "subflow": NodeSpec(required=("flow",), exits=("next",), optional_exits=("error",)),
    "return": NodeSpec(terminal=True),
    "language": NodeSpec(required=("languages",), exits=("next",), waits=True),
    "enter_queue": NodeSpec(required=("queue",), expressions=("priority",), terminal=True),
    "transfer": NodeSpec(required=("target",), terminal=True),
    "voicemail": NodeSpec(required=("mailbox",), terminal=True),
    "hangup": NodeSpec(terminal=True),
}

CALL_VARIABLES = frozenset(
    {
        "ani",
        "dnis",
        "caller_name",
        "customer_account",
        "customer_grade",
        "language",
        "now_hour",
        "weekday",
        "queue_length",
        "agents_ready",
        "expected_wait",
    }
)


def flow_answers(variables: Mapping[str, Any]) -> dict[str, Any]:
    """What a flow asked the caller (a survey's answers): its plain values, without what it
    knew of the call from the start (CALL_VARIABLES)."""
    return {
        str(k): v
        for k, v in variables.items()
        if k not in CALL_VARIABLES and isinstance(v, str | int | float) and not isinstance(v, bool)
    }
