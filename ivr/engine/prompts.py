"""What a node says (IVR-1, IVR-8): prompt specs in a flow → rendered prompts for a front-end.

A node speaks through `text` (TTS, may hold `{expression}` placeholders), `file` (an audio
file; `text` beside it is its transcript for the text channel), `say` + `value` (say a
number, digits, currency, date or time), or `prompts`: a list of such items. Menu and
collect nodes take the same in `prompt` (a plain string there is TTS text). Any text may be
a `{language: text}` mapping; the caller's `language` picks one (else `default`, else the
first).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .expressions import ExpressionError, check, evaluate

SAY_TYPES = ("number", "digits", "currency", "date", "time")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True, slots=True)
class Prompt:
    """One thing to say: kind is `tts`, `file` or `say` (then `say_type` says how)."""

    kind: str
    value: str
    say_type: str = ""
    transcript: str = ""  # what a file says, for the text channel

    def as_text(self) -> str:
        if self.kind == "file":
            return self.transcript or f"[{self.value}]"
        return self.value


def items(spec: Any) -> list[Mapping[str, Any]]:
    """The prompt items of a node's `prompt`/`prompts` value (a plain string is TTS text)."""
    if spec in (None, "", [], {}):
        return []
    if isinstance(spec, str):
        return [{"text": spec}]
    if isinstance(spec, Mapping):
        return [spec if _is_item(spec) else {"text": spec}]  # else {language: text}
    if isinstance(spec, list):
        return [i if isinstance(i, Mapping) else {"text": str(i)} for i in spec]
    raise ExpressionError(f"a prompt must be text, an object or a list, not {spec!r}")


def _is_item(spec: Mapping[str, Any]) -> bool:
    return any(key in spec for key in ("text", "file", "say"))


def node_prompt_items(node: Mapping[str, Any], key: str = "prompt") -> list[Mapping[str, Any]]:
    """A node's prompt items: `prompts`, else `key`, else the node's own text/file/say."""
    if node.get("prompts"):
        return items(node["prompts"])
    if node.get(key) not in (None, ""):
        return items(node[key])
    if any(node.get(k) for k in ("text", "file", "say")):
        return [node]
    return []


def pick_language(text: Any, language: str) -> str:
    if isinstance(text, Mapping):
        if not text:
            return ""
        chosen = text.get(language) or text.get("default") or next(iter(text.values()))
        return str(chosen)
    return "" if text is None else str(text)


def fill(template: str, variables: Mapping[str, Any]) -> str:
    """Replace each `{expression}` with its value (ExpressionError if one fails)."""

    def value(match: re.Match[str]) -> str:
        result = evaluate(match.group(1).strip(), variables)
        return "" if result is None else _spoken(result)

    return _PLACEHOLDER.sub(value, template)


def _spoken(value: Any) -> str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def render(specs: list[Mapping[str, Any]], variables: Mapping[str, Any]) -> tuple[Prompt, ...]:
    """Prompts to play now, in the caller's language, placeholders filled."""
    language = str(variables.get("language") or "")
    out: list[Prompt] = []
    for item in specs:
        text = fill(pick_language(item.get("text"), language), variables)
        if item.get("file"):
            path = fill(pick_language(item["file"], language), variables)
            out.append(Prompt("file", path, transcript=text))
        elif item.get("say"):
            say_type = str(item["say"])
            if say_type not in SAY_TYPES:
                raise ExpressionError(f"cannot say {say_type!r} (one of {list(SAY_TYPES)})")
            value = evaluate(str(item.get("value", "")), variables)
            out.append(Prompt("say", _spoken(value), say_type=say_type))
        elif text:
            out.append(Prompt("tts", text))
    return tuple(out)


def expressions_in(specs: list[Mapping[str, Any]]) -> Iterator[str]:
    """Every expression a prompt spec holds (placeholders and say values), for validation."""
    for item in specs:
        for key in ("text", "file"):
            texts = item.get(key)
            for text in texts.values() if isinstance(texts, Mapping) else [texts]:
                if isinstance(text, str):
                    yield from (m.group(1).strip() for m in _PLACEHOLDER.finditer(text))
        if item.get("say"):
            yield str(item.get("value", ""))


def check_prompts(specs: list[Mapping[str, Any]], known: set[str]) -> list[str]:
    """Problems with a prompt spec at publish time (bad say types, bad expressions)."""
    problems = []
    for item in specs:
        if item.get("say") and item["say"] not in SAY_TYPES:
            problems.append(f"cannot say {item['say']!r} (one of {list(SAY_TYPES)})")
    for expression in expressions_in(specs):
        try:
            check(expression, known)
        except ExpressionError as exc:
            problems.append(str(exc))
    return problems
