"""Publish-time validation of a flow graph (ICM-4, IVR-5): every problem named by node.

Refused: an unknown start, unknown node types, missing parameters, dangling or missing exits,
unreachable nodes, unknown variables or hostile expressions, loops that never wait for input,
and sub-flow cycles across flows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from outbound.domain.dialling_rules import InvalidRules, on_allow_list, parse_entries

from .expressions import ExpressionError, check
from .nodes import CALL_VARIABLES, SPECS
from .prompts import check_prompts, items, node_prompt_items


@dataclass(frozen=True, slots=True)
class Problem:
    node: str
    message: str

    def __str__(self) -> str:
        return f"node {self.node}: {self.message}" if self.node else self.message


class FlowInvalid(ValueError):
    """The flow cannot be published; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def exits_of(node: Mapping[str, Any]) -> dict[str, str]:
    exits = node.get("exits") or {}
    return {str(k): str(v) for k, v in exits.items()} if isinstance(exits, dict) else {}


def validate(
    graph: Mapping[str, Any], flow_name: str = "", subflows: Mapping[str, set[str]] | None = None
) -> None:
    """Raise FlowInvalid listing every problem; `subflows` maps other flows to the flows they
    call (for cycle detection across flows)."""
    problems: list[Problem] = []
    nodes = graph.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        raise FlowInvalid([Problem("", "a flow needs nodes")])
    start = graph.get("start")
    if start not in nodes:
        problems.append(Problem("", f"start node {start!r} does not exist"))
    assigned = set(CALL_VARIABLES)
    for node in nodes.values():
        spec = SPECS.get(node.get("type", "")) if isinstance(node, dict) else None
        for param in spec.assigns if spec else ():
            if node.get(param):
                assigned.add(str(node[param]))
        if spec and isinstance(node.get("outputs"), dict):
            assigned.update(str(v) for v in node["outputs"].values())
    for node_id, node in nodes.items():
        problems += _check_node(str(node_id), node, nodes, assigned)
    on_error = graph.get("on_error")
    if on_error not in (None, "") and on_error not in nodes:
        problems.append(Problem("", f"on_error node {on_error!r} does not exist"))
    if start in nodes:
        roots = [str(start)] + ([str(on_error)] if on_error in nodes else [])
        unreachable = set(nodes) - set().union(*(_reachable(r, nodes) for r in roots))
        problems += [Problem(n, "is unreachable from the start") for n in sorted(unreachable)]
    problems += _busy_loops(nodes)
    problems += _subflow_cycles(flow_name, nodes, subflows or {})
    if problems:
        raise FlowInvalid(problems)


def _check_node(
    node_id: str, node: Any, nodes: Mapping[str, Any], assigned: set[str]
) -> list[Problem]:
    if not isinstance(node, dict):
        return [Problem(node_id, "is not an object")]
    spec = SPECS.get(node.get("type", ""))
    if spec is None:
        return [Problem(node_id, f"unknown type {node.get('type')!r} (one of {sorted(SPECS)})")]
    problems = [
        Problem(node_id, f"needs parameter {p!r}")
        for p in spec.required
        if node.get(p) in (None, "", [], {})
    ]
    exits = exits_of(node)
    for name in spec.exits:
        if name not in exits:
            problems.append(Problem(node_id, f"exit {name!r} leads nowhere"))
    if spec.terminal and exits:
        problems.append(Problem(node_id, f"a {node['type']} node has no exits"))
    if spec.dynamic_exits and not (set(exits) - set(spec.optional_exits)):
        problems.append(Problem(node_id, "needs at least one choice"))
    for name, target in exits.items():
        if target not in nodes:
            problems.append(Problem(node_id, f"exit {name!r} leads to missing node {target!r}"))
    for param in spec.expressions:
        if node.get(param) not in (None, ""):
            try:
                check(str(node[param]), assigned)
            except ExpressionError as exc:
                problems.append(Problem(node_id, str(exc)))
    return (
        problems
        + _check_speech(node_id, node, spec, assigned)
        + _check_tokens(node_id, node)
        + _check_transfer(node_id, node)
    )


def _check_transfer(node_id: str, node: dict[str, Any]) -> list[Problem]:
    """A transfer to an extension or a number may leave through the trunk: one whose target
    is built from the call (`{…}`: caller digits, a look-up) needs `allowed_numbers`, the
    numbers or ranges (`+44 20 7946*`) it may reach, or a caller could dial anywhere; a
    fixed target must be on the node's list when it has one (issue 18 item 4)."""
    if node.get("type") != "transfer" or str(node.get("kind") or "extension") == "agent":
        return []
    try:
        entries = parse_entries(node.get("allowed_numbers"), wildcard=True)
    except InvalidRules as exc:
        return [Problem(node_id, f"allowed_numbers: {exc}")]
    target = str(node.get("target") or "")
    if "{" in target:
        if not entries:
            return [
                Problem(
                    node_id,
                    "the transfer target is built from the call: give "
                    "allowed_numbers, the numbers or ranges (e.g. "
                    "+44 20 7946*) it may reach",
                )
            ]
        return []
    if entries and target and not on_allow_list(entries, target):
        return [Problem(node_id, f"the transfer target {target!r} is not on its allowed_numbers")]
    return []


_TOKENS = {  # parameter -> (pattern it must match, what it is)
    "terminators": (r"[0-9*#]{0,3}", "up to 3 keys among 0-9 * #"),
    "cause": (r"[A-Z][A-Z_]{2,40}", "a hang-up cause such as NORMAL_CLEARING"),
    # an owner (IVR-7): agent:<id>, queue:<name>, department:<name>, or a bare name
    "mailbox": (
        r"(?:(?:agent|queue|department):)?[A-Za-z0-9_.-]{1,64}",
        "agent:<id>, queue:<name>, department:<name> or a name",
    ),
}
_NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_QUANTIFIED_GROUP = re.compile(r"\)[*+?{]")


def _check_tokens(node_id: str, node: dict[str, Any]) -> list[Problem]:
    """Values that end up as switch arguments or file names must be plain tokens; digit
    patterns must be safe to match (no quantified groups: catastrophic backtracking)."""
    problems = []
    if not _NODE_ID.fullmatch(node_id):
        problems.append(Problem(node_id, "a node id is 1-64 letters, digits, - and _"))
    for param, (token, what) in _TOKENS.items():
        value = node.get(param)
        if value not in (None, "") and not re.fullmatch(token, str(value)):
            problems.append(Problem(node_id, f"{param} must be {what}"))
    languages = node.get("languages")
    if languages is not None:
        values = languages if isinstance(languages, list) else [languages]
        if not values or not all(re.fullmatch(r"[a-z]{2}", str(v)) for v in values):
            problems.append(Problem(node_id, "languages are two-letter codes such as en, es"))
    pattern = node.get("pattern")
    if pattern not in (None, ""):
        text = str(pattern)
        if len(text) > 100 or _QUANTIFIED_GROUP.search(text):
            problems.append(
                Problem(
                    node_id,
                    "pattern: at most 100 characters, no quantified groups such as (…)* or (…)+",
                )
            )
        else:
            try:
                re.compile(text)
            except re.error as exc:
                problems.append(Problem(node_id, f"pattern is not a valid regex: {exc}"))
    return problems


def _check_speech(
    node_id: str, node: dict[str, Any], spec: Any, assigned: set[str]
) -> list[Problem]:
    """Prompts, retry prompts, templates (`{expression}`), lookup parameters."""
    try:
        specs = node_prompt_items(node)
        for key in ("invalid_prompt", "timeout_prompt"):
            specs += items(node.get(key))
        if node.get("type") == "transfer":
            specs.append({"text": str(node.get("target", ""))})
    except ExpressionError as exc:
        return [Problem(node_id, str(exc))]
    problems = [Problem(node_id, p) for p in check_prompts(specs, assigned)]
    if spec.speaks and not specs:
        problems.append(Problem(node_id, "says nothing: give it text, a file, say or prompts"))
    params = node.get("params")
    if params is not None and not isinstance(params, dict):
        problems.append(Problem(node_id, "params must be an object of name: expression"))
    for name, expression in (params or {}).items() if isinstance(params, dict) else ():
        try:
            check(str(expression), assigned)
        except ExpressionError as exc:
            problems.append(Problem(node_id, f"parameter {name!r}: {exc}"))
    return problems


def _reachable(start: str, nodes: Mapping[str, Any]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in nodes:
            continue
        seen.add(node_id)
        todo += list(exits_of(nodes[node_id]).values()) if isinstance(nodes[node_id], dict) else []
    return seen


def _busy_loops(nodes: Mapping[str, Any]) -> list[Problem]:
    """Cycles made only of nodes that neither wait nor take input would spin forever."""
    busy = {
        node_id
        for node_id, node in nodes.items()
        if isinstance(node, dict) and node.get("type") in SPECS and not SPECS[node["type"]].waits
    }
    state: dict[str, int] = {}  # 1 visiting, 2 done
    problems: list[Problem] = []

    def visit(node_id: str) -> None:
        state[node_id] = 1
        for target in exits_of(nodes[node_id]).values():
            if target not in busy:
                continue
            if state.get(target) == 1:
                problems.append(Problem(target, "is in a loop that never waits for input"))
            elif target not in state:
                visit(target)
        state[node_id] = 2

    for node_id in sorted(busy):
        if node_id not in state:
            visit(node_id)
    return problems


def _subflow_cycles(
    flow: str, nodes: Mapping[str, Any], subflows: Mapping[str, set[str]]
) -> list[Problem]:
    calls: dict[str, str] = {
        str(node["flow"]): node_id
        for node_id, node in nodes.items()
        if isinstance(node, dict) and node.get("type") == "subflow" and node.get("flow")
    }
    problems = []
    for called, node_id in calls.items():
        seen, todo = set(), [called]
        while todo:
            current = todo.pop()
            if current == flow:
                problems.append(Problem(node_id, f"sub-flow {called!r} calls back into {flow!r}"))
                break
            if current not in seen:
                seen.add(current)
                todo += sorted(subflows.get(current, set()))
    return problems
