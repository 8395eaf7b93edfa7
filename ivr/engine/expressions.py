"""Safe expressions for IVR flows (IVR-2): conditions, assignments, spoken values.

Evaluated with `simpleeval` (no `eval`), restricted further: only whitelisted syntax (no
attribute access, subscripts, comprehensions, lambdas, f-strings or `**`), lists and tuples
only after `in`, bounded length, and only whitelisted functions. `check` refuses a bad
expression at publish time (naming unknown variables, and constant parts that would exceed
the budget); `evaluate` fails with an ExpressionError at run time, which the node's error
branch takes.

Every evaluation has a hard budget, because icm evaluates on its gevent loop (a long
computation would stop every call and miss the switch's heartbeats): each operation is
checked *before* it runs (integers of at most MAX_INT_BITS bits, built strings of at most
MAX_STRING characters, shifts, repetitions, `%` formatting widths, `round` digits, integer
conversions of decimals), and one evaluation takes at most MAX_STEPS nodes and MAX_SECONDS.
Exceeding it raises ExpressionBudgetError (an ExpressionError).
"""

from __future__ import annotations

import ast
import operator
import re
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

import simpleeval  # type: ignore[import-untyped]

MAX_LENGTH = 500
MAX_INT_BITS = 1024  # about 308 digits: any account, amount or count, not a squared square
MAX_STRING = 100_000  # characters (or items) one operation may build
MAX_STEPS = 2_000  # nodes evaluated in one expression (a 500-character one has fewer)
MAX_SECONDS = 0.25  # wall time of one evaluation; every operation is bounded well below it
MAX_ROUND_DIGITS = 100
MAX_FORMAT_WIDTH = 999  # width or precision of one `%` conversion
_SIZED = (str, bytes, list, tuple)


class ExpressionError(ValueError):
    """An expression that is refused (publish time) or failed (run time); says why."""


class ExpressionBudgetError(ExpressionError):
    """An expression that would take too long or build too large a value."""


def _over(what: str) -> ExpressionBudgetError:
    return ExpressionBudgetError(f"exceeds the expression budget: {what}")


def _int_from(value: Any) -> Any:
    """Refuse turning a decimal or float with a huge exponent into an integer (int() of
    Decimal('1e1000000') runs for a minute)."""
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 308:
        raise _over("a number above 10**308 made an integer")
    return value


def _safe_int(value: Any = 0, *base: Any) -> int:
    return int(_int_from(value), *base)


def _safe_round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(_int_from(number))
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise _over(f"round to more than {MAX_ROUND_DIGITS} digits")
    return round(number, ndigits)


FUNCTIONS: dict[str, Any] = {
    "len": len,
    "int": _safe_int,
    "float": float,
    "str": str,
    "round": _safe_round,
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


def _multiply(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
            raise _over(f"a product above {MAX_INT_BITS} bits")
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, _SIZED) and isinstance(times, int) and len(seq) * times > MAX_STRING:
            raise _over(f"a repetition longer than {MAX_STRING}")
    return a * b


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, _SIZED) and isinstance(b, _SIZED) and len(a) + len(b) > MAX_STRING:
        raise _over(f"a concatenation longer than {MAX_STRING}")
    return a + b


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise _over(f"a shift above {MAX_INT_BITS} bits")
    return a << b


_FORMAT_NUMBERS = re.compile(r"%[^%a-zA-Z]*")


def _modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):  # printf-style formatting: '%0100000000d' % 1 is 100 MB
        for spec in _FORMAT_NUMBERS.findall(str(a)):
            widths = re.findall(r"\d+", spec)
            if "*" in spec or any(int(w) > MAX_FORMAT_WIDTH for w in widths):
                raise _over(f"a % conversion wider than {MAX_FORMAT_WIDTH}")
    return a % b


# `**` has no operator at all (it is refused before): 9 ** 9 ** 9 never runs.
_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: _add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _modulo,
    ast.LShift: _lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.BitAnd: operator.and_,
    ast.Invert: operator.invert,
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Gt: operator.gt,
    ast.Lt: operator.lt,
    ast.GtE: operator.ge,
    ast.LtE: operator.le,
    ast.In: lambda x, y: operator.contains(y, x),
    ast.NotIn: lambda x, y: not operator.contains(y, x),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
# The only syntax an expression may use (anything else is refused by name, e.g. "pow",
# "subscript", "attribute", "listcomp", "joinedstr").
_ALLOWED = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.And,
    ast.Or,
    *_OPERATORS,
)
_SEQUENCES = (ast.Tuple, ast.List)  # only as the right side of `in` / `not in`
_CONSTANT_TYPES = (str, int, float, bool, type(None))


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
    """The variables `text` reads, once it passed the structural checks and its constant
    parts stayed within the budget (cached: flows evaluate the same few expressions over
    and over)."""
    tree = _parse(text)
    names: set[str] = set()
    sequences_allowed: set[int] = set()
    for node in ast.walk(tree):  # breadth first: a comparison before its operands
        if isinstance(node, _SEQUENCES):
            if id(node) not in sequences_allowed:
                raise ExpressionError(
                    f"{type(node).__name__.lower()} is not allowed in {text!r} (a list or "
                    "tuple may only follow `in`, e.g. grade in ('vip', 'gold'))"
                )
            continue
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"{type(node).__name__.lower()} is not allowed in {text!r}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, _CONSTANT_TYPES):
            raise ExpressionError(
                f"{type(node.value).__name__} literals are not allowed in {text!r}"
            )
        if isinstance(node, ast.Compare):
            sequences_allowed.update(
                id(c)
                for o, c in zip(node.ops, node.comparators, strict=True)
                if isinstance(o, ast.In | ast.NotIn)
            )
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(f"only {sorted(FUNCTIONS)} may be called in {text!r}")
        elif isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            names.add(node.id)
    _check_constant_parts(text, tree)
    return frozenset(names)


def _check_constant_parts(text: str, tree: ast.Expression) -> None:
    """Evaluate (within the budget) every largest part that reads no variable, so that
    `int('9' * 4000) * 2`-like expressions are refused at publish, not on a call."""
    nodes = list(ast.walk(tree))
    constant: dict[int, bool] = {}
    for node in reversed(nodes):  # children before their parents
        if isinstance(node, ast.Name):
            constant[id(node)] = False
        elif isinstance(node, ast.Call):
            args = [*node.args, *(k.value for k in node.keywords)]
            constant[id(node)] = all(constant.get(id(a), False) for a in args)
        else:
            constant[id(node)] = all(constant.get(id(c), True) for c in ast.iter_child_nodes(node))
    todo: list[ast.AST] = [tree.body]
    while todo:
        node = todo.pop()
        if not constant.get(id(node)) or isinstance(node, ast.Constant | ast.Tuple | ast.List):
            todo.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr))
            continue
        try:
            _evaluators.evaluator.run(text, node, {})
        except ExpressionBudgetError as exc:
            raise ExpressionBudgetError(f"{text!r} {exc}") from None
        except (MemoryError, RecursionError):
            raise ExpressionBudgetError(f"{text!r} is too expensive") from None
        except Exception:  # noqa: S110 - other failures are the run time's to report
            pass


class _Evaluator(simpleeval.SimpleEval):  # type: ignore[misc]
    """simpleeval with the budget: whitelisted operators and functions (copies: simpleeval's
    compound-types evaluator used to add list/tuple/dict/set to the shared table), list and
    tuple literals for `in`, and a step and time count on every node; sizes checked after
    every operation."""

    def __init__(self) -> None:
        super().__init__(operators=dict(_OPERATORS), functions=dict(FUNCTIONS), names={})
        for kind in list(self.nodes):
            if kind not in _ALLOWED:
                del self.nodes[kind]
        self.nodes[ast.Tuple] = lambda node: tuple(self._eval(x) for x in node.elts)
        self.nodes[ast.List] = lambda node: [self._eval(x) for x in node.elts]
        self.steps = 0
        self.deadline = 0.0

    def run(self, text: str, tree: ast.AST, names: dict[str, Any]) -> Any:
        self.names = names
        self.steps, self.deadline = 0, time.monotonic() + MAX_SECONDS
        return self.eval(text, tree)

    def _eval(self, node: ast.AST) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _over(f"more than {MAX_STEPS} steps")
        if time.monotonic() > self.deadline:
            raise _over(f"more than {MAX_SECONDS} s")
        result = super()._eval(node)
        if isinstance(node, ast.Name | ast.Constant):
            return result  # a variable's value is as it came; only computed values count
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise _over(f"an integer above {MAX_INT_BITS} bits")
        if isinstance(result, _SIZED) and len(result) > MAX_STRING:
            raise _over(f"a value longer than {MAX_STRING}")
        return result


class _Evaluators(threading.local):
    """One evaluator per thread (building one per evaluation dominated the cost)."""

    def __init__(self) -> None:
        self.evaluator = _Evaluator()


_evaluators = _Evaluators()


def evaluate(text: str, variables: Mapping[str, Any]) -> Any:
    """The value of `text` with `variables`; ExpressionError on any failure, and
    ExpressionBudgetError when it would exceed the budget."""
    check(text, variables)
    try:
        return _evaluators.evaluator.run(text, _parse(text).body, dict(variables))
    except ExpressionBudgetError as exc:
        raise ExpressionBudgetError(f"{text!r} {exc}") from None
    except ExpressionError:
        raise
    except (simpleeval.InvalidExpression, ArithmeticError, TypeError, ValueError) as exc:
        raise ExpressionError(f"{text!r} failed: {exc}") from exc
    except (MemoryError, RecursionError) as exc:
        raise ExpressionBudgetError(f"{text!r} is too expensive") from exc


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Expression:
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
