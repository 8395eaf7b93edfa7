"""The flow interpreter (IVR-1…IVR-4, IVR-6): runs a published flow version one effect at a
time, the same for the voice and the text front-end.

`Interpreter.start(flow)` pins the flow's published version (a call in progress finishes on
its version even when a new one is published) and returns the first Effect; the front-end
carries it out and calls `resume(run, result)` for the next. Nodes that need no I/O (set,
condition, switch, goto, sub-flow call and return) run inside one resume, at most
MAX_STEPS of them. A failing node takes its `error` exit, else the flow's `on_error` node,
else the caller hears an apology and the call is hung up: a caller never waits in silence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from outbound.domain.dialling_rules import InvalidRules, on_allow_list, parse_entries

from .effects import (
    CheckSchedule,
    Collect,
    Effect,
    Failed,
    Finished,
    Lookup,
    Play,
    ReadIcm,
    Record,
)
from .expressions import ExpressionError, evaluate
from .nodes import CALL_VARIABLES, SPECS
from .prompts import Prompt, items, node_prompt_items, render
from .validation import exits_of

MAX_STEPS = 200  # nodes run without waiting in one resume (validation refuses busy loops)
MAX_CALL_STEPS = 5000  # nodes in one whole run: a menu looping on itself cannot hold a caller
MAX_DIGITS = 32
APOLOGY = (Prompt("tts", "We are sorry, we cannot take your call right now. Goodbye."),)
RETRY_INVALID = "Sorry, that is not a valid choice."
RETRY_TIMEOUT = "Sorry, I did not get that."
ICM_METRICS = ("queue_length", "agents_ready", "agents_logged_in", "expected_wait")


class FlowSource(Protocol):
    """Where the interpreter finds graphs: by pinned version, and the published one."""

    def graph(self, flow: str, version: int) -> Mapping[str, Any]: ...

    def published(self, flow: str) -> tuple[int, Mapping[str, Any]] | None: ...


TransferCheck = Callable[[str, str], str]  # (kind, target) -> why refused, "" if allowed


class FlowNotFound(LookupError):
    """The flow has no published version."""


@dataclass(slots=True)
class Frame:
    """A sub-flow call: where to come back to."""

    flow: str
    version: int
    node: str  # the subflow node (its `next` exit on return)


@dataclass(slots=True)
class Run:
    """One contact's progress through a flow; plain data, so a text session can be stored."""

    flow: str
    version: int
    node: str
    variables: dict[str, Any]
    stack: list[Frame] = field(default_factory=list)
    attempts: int = 0  # failed tries at the current menu / collect
    retry_reason: str = ""  # "invalid" or "timeout": said before the next try
    steps: int = 0
    finished: bool = False
    last_error: str = ""
    errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        fields = dict(data)
        fields["stack"] = [Frame(**f) for f in fields.get("stack", [])]
        return cls(**fields)


class _Fail(Exception):
    """A node could not run: take its error route."""


class Interpreter:
    """Steps runs of flows from a FlowSource."""

    def __init__(self, flows: FlowSource, transfer_check: TransferCheck | None = None) -> None:
        self.flows = flows
        # why the platform refuses a transfer target ("": allowed): the company's dialling
        # rules for numbers that leave through the trunk (icm gives it; none in a simulator)
        self.transfer_check = transfer_check
        self._enter: dict[str, Callable[[Run, Mapping[str, Any]], Effect | None]] = {
            "play": self._play,
            "menu": self._ask,
            "collect": self._ask,
            "language": self._ask,
            "record": self._record,
            "set": self._set,
            "condition": self._condition,
            "switch": self._switch,
            "goto": self._goto,
            "schedule": self._schedule,
            "lookup": self._lookup,
            "icm_value": self._icm_value,
            "subflow": self._subflow,
            "return": self._return,
            "enter_queue": self._enter_queue,
            "transfer": self._transfer,
            "voicemail": self._voicemail,
            "hangup": self._hangup,
        }

    # --- public --------------------------------------------------------------------------
    def start(self, flow: str, variables: Mapping[str, Any] | None = None) -> tuple[Run, Effect]:
        """Begin `flow`'s published version (FlowNotFound when there is none)."""
        published = self.flows.published(flow)
        if published is None:
            raise FlowNotFound(f"flow {flow!r} has no published version")
        version, graph = published
        run = Run(flow, version, str(graph.get("start", "")), initial_variables(graph, variables))
        return run, self._advance(run)

    def resume(self, run: Run, result: Any = None) -> Effect:
        """Hand the result of the last effect back; returns the next effect."""
        if run.finished:
            raise RuntimeError("the run is finished")
        node = self._node(run)
        try:
            moved = self._result(run, node, result)
        except Exception as exc:  # any failing node takes its error route, never escapes
            moved = self._fail(run, node, _reason(exc))
        return moved if moved is not None else self._advance(run)

    # --- the loop ------------------------------------------------------------------------
    def _graph(self, run: Run) -> Mapping[str, Any]:
        return self.flows.graph(run.flow, run.version)

    def _node(self, run: Run) -> Mapping[str, Any]:
        node = (self._graph(run).get("nodes") or {}).get(run.node)
        if not isinstance(node, Mapping):
            return {"type": "hangup", "_missing": True}
        return node

    def _advance(self, run: Run) -> Effect:
        for _ in range(MAX_STEPS):
            node = self._node(run)
            run.steps += 1
            if run.steps > MAX_CALL_STEPS:
                run.last_error = f"more than {MAX_CALL_STEPS} steps in one run"
                return self._finish(
                    run, Finished("hangup", {"cause": "NORMAL_TEMPORARY_FAILURE"}, APOLOGY)
                )
            if node.get("_missing"):
                return self._finish(
                    run, Finished("hangup", {"cause": "NORMAL_TEMPORARY_FAILURE"}, APOLOGY)
                )
            try:
                effect = self._enter[str(node.get("type"))](run, node)
            except Exception as exc:  # unknown type, bad parameter, failed expression …
                effect = self._fail(run, node, _reason(exc))
            if effect is not None:
                if isinstance(effect, Finished):
                    return self._finish(run, effect)
                return effect
        run.last_error = f"more than {MAX_STEPS} steps without waiting at node {run.node}"
        return self._finish(run, Finished("hangup", {"cause": "NORMAL_TEMPORARY_FAILURE"}, APOLOGY))

    def _finish(self, run: Run, effect: Finished) -> Finished:
        run.finished = True
        return effect

    def _go(self, run: Run, node: Mapping[str, Any], exit_name: str) -> None:
        target = exits_of(node).get(exit_name)
        if target is None:
            raise _Fail(f"exit {exit_name!r} leads nowhere")
        run.node = target
        run.attempts = 0
        run.retry_reason = ""

    def _fail(self, run: Run, node: Mapping[str, Any], reason: str) -> Effect | None:
        """The error exit, else the flow's on_error node, else an apology and hang-up."""
        run.last_error = f"node {run.node}: {reason}"
        run.errors += 1
        run.attempts, run.retry_reason = 0, ""
        exits = exits_of(node)
        if "error" in exits:
            run.node = exits["error"]
            return None
        while run.errors <= 3:  # the flow's on_error, else the calling flow's, outwards
            on_error = self._graph(run).get("on_error")
            if on_error and on_error != run.node:
                run.node = str(on_error)
                return None
            if not run.stack:
                break
            frame = run.stack.pop()
            run.flow, run.version, run.node = frame.flow, frame.version, frame.node
        return self._finish(run, Finished("hangup", {"cause": "NORMAL_TEMPORARY_FAILURE"}, APOLOGY))

    # --- results of effects --------------------------------------------------------------
    def _result(self, run: Run, node: Mapping[str, Any], result: Any) -> Effect | None:
        kind = node.get("type")
        if isinstance(result, Failed):
            raise _Fail(result.reason)
        if kind in ("play", "goto"):
            self._go(run, node, "next")
        elif kind == "menu":
            return self._menu_result(run, node, str(result or ""))
        elif kind == "collect":
            return self._collect_result(run, node, str(result or ""))
        elif kind == "language":
            self._language_result(run, node, str(result or ""))
        elif kind == "record":
            run.variables[str(node["variable"])] = result
            self._go(run, node, "next")
        elif kind == "schedule":
            self._go(run, node, "open" if result else "closed")
        elif kind == "lookup":
            self._lookup_result(run, node, result)
        elif kind == "icm_value":
            run.variables[str(node["variable"])] = result
            self._go(run, node, "next")
        else:
            raise _Fail(f"a {kind} node takes no result")
        return None

    def _retry(self, run: Run, node: Mapping[str, Any], reason: str) -> Effect | None:
        """Ask again, or take the `timeout` / `invalid` exit when the tries are used up."""
        run.attempts += 1
        if run.attempts < _int(node.get("retries"), 3, 1, 10):
            run.retry_reason = reason
            return self._ask(run, node)
        exits = exits_of(node)
        for name in (reason, "invalid" if reason == "timeout" else "timeout"):
            if name in exits:
                self._go(run, node, name)
                return None
        raise _Fail(f"no valid input after {run.attempts} tries")

    def _menu_result(self, run: Run, node: Mapping[str, Any], digits: str) -> Effect | None:
        if digits and digits in _choices(node):
            self._go(run, node, digits)
            return None
        return self._retry(run, node, "invalid" if digits else "timeout")

    def _collect_result(self, run: Run, node: Mapping[str, Any], digits: str) -> Effect | None:
        low = _int(node.get("min_digits"), 1, 0, MAX_DIGITS)
        pattern = str(node.get("pattern") or "")
        if digits and len(digits) >= low and (not pattern or re.fullmatch(pattern, digits)):
            run.variables[str(node["variable"])] = digits
            self._go(run, node, "next")
            return None
        return self._retry(run, node, "invalid" if digits else "timeout")

    def _language_result(self, run: Run, node: Mapping[str, Any], digits: str) -> None:
        languages = _languages(node)
        index = int(digits) - 1 if digits.isdigit() else -1
        run.variables["language"] = languages[index if 0 <= index < len(languages) else 0]
        self._go(run, node, "next")

    def _lookup_result(self, run: Run, node: Mapping[str, Any], result: Any) -> None:
        fields = result if isinstance(result, Mapping) else {"value": result}
        outputs = node.get("outputs") or {}
        if not fields or all(v is None for v in fields.values()):
            run.variables[str(node["variable"])] = None
            for variable in outputs.values():
                run.variables[str(variable)] = None
            self._go(run, node, "not_found" if "not_found" in exits_of(node) else "next")
            return
        run.variables[str(node["variable"])] = _plain(next(iter(fields.values())))
        for name, variable in outputs.items():
            run.variables[str(variable)] = _plain(fields.get(name))
        self._go(run, node, "next")

    # --- entering nodes ------------------------------------------------------------------
    def _play(self, run: Run, node: Mapping[str, Any]) -> Effect:
        return Play(render(node_prompt_items(node), run.variables))

    def _ask(self, run: Run, node: Mapping[str, Any]) -> Effect:
        kind = node.get("type")
        specs = node_prompt_items(node)
        if kind == "language" and not specs:
            specs = [
                {"text": f"For {lang} press {i}."}
                for i, lang in enumerate(_language_labels(node), 1)
            ]
        if run.retry_reason:
            retry_key = f"{run.retry_reason}_prompt"
            default = RETRY_INVALID if run.retry_reason == "invalid" else RETRY_TIMEOUT
            specs = items(node.get(retry_key) or default) + specs
        prompts = render(specs, run.variables)
        timeout = _float(node.get("timeout"), 5.0, 0.5, 60)
        if kind == "collect":
            return Collect(
                prompts,
                _int(node.get("min_digits"), 1, 0, MAX_DIGITS),
                _int(node.get("max_digits"), 20, 1, MAX_DIGITS),
                str(node.get("terminators", "#")),
                timeout,
                _float(node.get("digit_timeout"), 3.0, 0.5, 30),
            )
        choices = (
            _choices(node)
            if kind == "menu"
            else tuple(str(i) for i in range(1, len(_languages(node)) + 1))
        )
        longest = max((len(c) for c in choices), default=1)
        terminators = "#" if longest > 1 and "#" not in choices else ""
        return Collect(prompts, 1, longest, terminators, timeout, 2.0, choices)

    def _record(self, run: Run, node: Mapping[str, Any]) -> Effect:
        name = f"{run.flow}-{run.node}"
        return Record(
            render(node_prompt_items(node), run.variables),
            _int(node.get("max_seconds"), 60, 1, 3600),
            name,
        )

    def _set(self, run: Run, node: Mapping[str, Any]) -> None:
        run.variables[str(node["variable"])] = _plain(evaluate(str(node["value"]), run.variables))
        self._go(run, node, "next")

    def _condition(self, run: Run, node: Mapping[str, Any]) -> None:
        value = evaluate(str(node["expression"]), run.variables)
        self._go(run, node, "true" if value else "false")

    def _switch(self, run: Run, node: Mapping[str, Any]) -> None:
        value = _plain(evaluate(str(node["value"]), run.variables))
        exits = exits_of(node)
        key = str(value)
        if key in exits and key not in ("default", "error"):
            self._go(run, node, key)
        elif "default" in exits:
            self._go(run, node, "default")
        else:
            raise _Fail(f"no case for {key!r}")

    def _goto(self, run: Run, node: Mapping[str, Any]) -> None:
        self._go(run, node, "next")

    def _schedule(self, run: Run, node: Mapping[str, Any]) -> Effect:
        return CheckSchedule(str(node["schedule"]))

    def _lookup(self, run: Run, node: Mapping[str, Any]) -> Effect:
        params = node.get("params") or {}
        if not isinstance(params, Mapping):
            raise _Fail("params must be an object of name: expression")
        values = {str(k): evaluate(str(v), run.variables) for k, v in params.items()}
        return Lookup(str(node["connector"]), values)

    def _icm_value(self, run: Run, node: Mapping[str, Any]) -> Effect:
        metric = str(node["metric"])
        if metric not in ICM_METRICS:
            raise _Fail(f"unknown ICM metric {metric!r} (one of {list(ICM_METRICS)})")
        return ReadIcm(metric, str(node.get("queue") or ""))

    def _subflow(self, run: Run, node: Mapping[str, Any]) -> None:
        name = str(node["flow"])
        if len(run.stack) >= 16:
            raise _Fail("sub-flows nested more than 16 deep")
        published = self.flows.published(name)
        if published is None:
            raise _Fail(f"sub-flow {name!r} has no published version")
        version, graph = published
        run.stack.append(Frame(run.flow, run.version, run.node))
        for variable in _assigned(graph):
            run.variables.setdefault(variable, None)
        run.flow, run.version, run.node = name, version, str(graph.get("start", ""))
        run.attempts, run.retry_reason = 0, ""

    def _return(self, run: Run, node: Mapping[str, Any]) -> Effect | None:
        if not run.stack:
            return Finished("hangup", {"cause": "NORMAL_CLEARING"}, variables=_data(run))
        frame = run.stack.pop()
        run.flow, run.version, run.node = frame.flow, frame.version, frame.node
        self._go(run, self._node(run), "next")
        return None

    def _enter_queue(self, run: Run, node: Mapping[str, Any]) -> Effect:
        priority = node.get("priority")
        value = evaluate(str(priority), run.variables) if priority not in (None, "") else 0
        skills = node.get("skills") or {}
        if not isinstance(skills, Mapping):
            raise _Fail("skills must be an object of skill: level")
        params = {
            "queue": str(node["queue"]),
            "priority": _int(value, 0, -100, 100),
            "skills": {str(k): _int(v, 1, 1, 10) for k, v in skills.items()},
        }
        if node.get("after_call"):  # back into this flow when the agent hangs up (AG-7)
            params["after_call"] = str(node["after_call"])
        return Finished(
            "enter_queue",
            params,
            render(node_prompt_items(node), run.variables),
            _data(run, node.get("attach")),
        )

    def _transfer(self, run: Run, node: Mapping[str, Any]) -> Effect:
        kind = str(node.get("kind") or "extension")
        if kind not in ("agent", "extension", "number"):
            raise _Fail(f"cannot transfer to a {kind!r} (agent, extension or number)")
        target = render([{"text": str(node["target"])}], run.variables)
        digits = target[0].value.strip() if target else ""
        allowed = r"[A-Za-z0-9_.-]{1,32}" if kind == "agent" else r"\+?[0-9*#]{1,32}"
        if not re.fullmatch(allowed, digits):
            what = "an agent ID" if kind == "agent" else "a number"
            raise _Fail(f"transfer target {digits!r} is not {what}")
        if kind != "agent":
            _check_allowed_numbers(node, digits)
        refused = self.transfer_check(kind, digits) if self.transfer_check else ""
        if refused:
            raise _Fail(f"transfer to {digits} refused: {refused}")
        return Finished(
            "transfer",
            {"kind": kind, "target": digits},
            render(node_prompt_items(node), run.variables),
            _data(run),
        )

    def _voicemail(self, run: Run, node: Mapping[str, Any]) -> Effect:
        specs = node_prompt_items(node) or [{"text": "Please leave a message after the tone."}]
        return Finished(
            "voicemail",
            {
                "mailbox": str(node["mailbox"]),
                "max_seconds": _int(node.get("max_seconds"), 120, 5, 600),
            },
            render(specs, run.variables),
            _data(run),
        )

    def _hangup(self, run: Run, node: Mapping[str, Any]) -> Effect:
        cause = str(node.get("cause") or "NORMAL_CLEARING")
        return Finished(
            "hangup", {"cause": cause}, render(node_prompt_items(node), run.variables), _data(run)
        )


def _check_allowed_numbers(node: Mapping[str, Any], target: str) -> None:
    """A transfer node's allow-list (issue 18 item 4): a target built from the call (a
    `{…}` template: caller digits, a look-up) must be on it — without one it is refused —
    and a node that has one reaches nothing else."""
    try:
        entries = parse_entries(node.get("allowed_numbers"), wildcard=True)
    except InvalidRules as exc:
        raise _Fail(f"allowed_numbers: {exc}") from exc
    built = "{" in str(node.get("target", ""))
    if (entries or built) and not on_allow_list(entries, target):
        where = "the node's allowed numbers" if entries else "an allow-list (the node has none)"
        raise _Fail(f"transfer target {target!r} is not on {where}")


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if isinstance(exc, _Fail | ExpressionError) else f"{type(exc).__name__}: {text}"


def initial_variables(graph: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every call variable and every variable the flow assigns exists from the start (None
    until set), so an expression reading one early fails on its value, not its name."""
    variables: dict[str, Any] = dict.fromkeys(CALL_VARIABLES, "")
    variables.update(dict.fromkeys(_assigned(graph)))
    variables.update(given or {})
    return variables


def _assigned(graph: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    for node in (graph.get("nodes") or {}).values():
        spec = SPECS.get(node.get("type", "")) if isinstance(node, Mapping) else None
        if spec is None:
            continue
        names.update(str(node[p]) for p in spec.assigns if node.get(p))
        if isinstance(node.get("outputs"), Mapping):
            names.update(str(v) for v in node["outputs"].values())
    return names


def _choices(node: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(k for k in exits_of(node) if k not in ("timeout", "invalid", "error"))


def _languages(node: Mapping[str, Any]) -> list[str]:
    languages = node.get("languages") or ["en"]
    return [str(lang) for lang in (languages if isinstance(languages, list) else [languages])]


LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "zh": "Chinese",
    "it": "Italian",
    "pt": "Portuguese",
}


def _language_labels(node: Mapping[str, Any]) -> list[str]:
    return [LANGUAGE_NAMES.get(lang, lang) for lang in _languages(node)]


def _data(run: Run, attach: Any = None) -> dict[str, Any]:
    """The variables that travel with the contact: the named ones, else every flow variable
    that has a value (the call's own identifiers are on the call already)."""
    if isinstance(attach, list):
        return {str(k): _plain(run.variables.get(str(k))) for k in attach}
    return {
        k: _plain(v)
        for k, v in run.variables.items()
        if v not in (None, "") and k not in ("ani", "dnis", "now_hour", "weekday")
    }


def _plain(value: Any) -> Any:
    """A JSON-safe value (decimals and dates from connectors become numbers and text; not a
    number and infinities become text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple | set | dict):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return str(value)
    if not math.isfinite(number):
        return str(value)
    return int(number) if number.is_integer() and "." not in str(value) else number


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))


def _float(value: Any, default: float, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))
