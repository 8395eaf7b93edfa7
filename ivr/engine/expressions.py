"""Safe expressions for IVR flows (IVR-2): conditions, assignments, spoken values.

Evaluated with `simpleeval` (no `eval`), restricted further: no attribute access, no
comprehensions or lambdas, bounded length, and only whitelisted functions. `check` refuses
a bad expression at publish time (naming unknown variables); `evaluate` fails with an
ExpressionError at run time, which the node's error branch takes.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import simpleeval  # type: ignore[import-untyped]

MAX_LENGTH = 500

FUNCTIONS: dict[str, Any] = {
    "len": len,
    "int": int,
    "float": float,
    "str": str,
    "round": round,
    "min": min,
    "max": max,
    "abs": abs,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "startswith": lambda s, prefix: str(s).startswith(str(prefix)),
    "endswith": lambda s, suffix: str(s).endswith(str(suffix)),
    "contains": lambda s, part: str(part) in str(s),
    "digits": lambda s: "".join(ch for ch in str(s) if ch.isdigit()),
}
_FORBIDDEN = (
    ast.Attribute,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Starred,
    ast.NamedExpr,
    ast.Subscript,
    ast.Pow,  # 4000000 ** 4000000 passes simpleeval's operand limit and runs for minutes
    ast.Set,
    ast.Dict,
)


class ExpressionError(ValueError):
    """An expression that is refused (publish time) or failed (run time); says why."""


def check(text: str, known_variables: set[str] | Mapping[str, Any]) -> frozenset[str]:
    """Refuse a hostile or invalid expression; return the variable names it reads."""
    names = _names(text)
    unknown = [n for n in names if n not in known_variables and n not in _CONSTANTS]
    if unknown:
        raise ExpressionError(f"unknown variable(s) {sorted(unknown)} in {text!r}")
    return names


_CONSTANTS = frozenset({"True", "False", "None"})


@lru_cache(maxsize=4096)
def _names(text: str) -> frozenset[str]:
    """The variables `text` reads, once it passed the structural checks (cached: flows
    evaluate the same few expressions over and over)."""
    tree = _parse(text)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, _FORBIDDEN):
            raise ExpressionError(f"{type(node).__name__.lower()} is not allowed in {text!r}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(f"only {sorted(FUNCTIONS)} may be called in {text!r}")
        elif isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            names.add(node.id)
    return frozenset(names)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Any:
    return simpleeval.SimpleEval.parse(text)


class _Evaluators(threading.local):
    """One simpleeval evaluator per thread (building one per evaluation dominated the cost)."""

    def __init__(self) -> None:
        self.evaluator = simpleeval.EvalWithCompoundTypes(functions=FUNCTIONS, names={})


_evaluators = _Evaluators()


def evaluate(text: str, variables: Mapping[str, Any]) -> Any:
    """The value of `text` with `variables`; ExpressionError on any failure."""
    check(text, variables)
    evaluator = _evaluators.evaluator
    evaluator.names = dict(variables)
    try:
        return evaluator.eval(text, _parsed(text.strip()))
    except ExpressionError:
        raise
    except (simpleeval.InvalidExpression, ArithmeticError, TypeError, ValueError) as exc:
        raise ExpressionError(f"{text!r} failed: {exc}") from exc
    except (MemoryError, RecursionError) as exc:
        raise ExpressionError(f"{text!r} is too expensive") from exc


def _parse(text: str) -> ast.AST:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression is required")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        return ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise ExpressionError(f"{text!r} is not a valid expression: {exc}") from exc
    except RecursionError as exc:
        raise ExpressionError("expression nested too deeply") from exc
