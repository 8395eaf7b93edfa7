"""The dialplan as data: a TOML file mapping context + destination regex to applications.

Owns loading/validating dialplan files, matching a destination number in a context
(first matching extension wins unless it says ``continue = true``) and ``${var}`` / ``$1``
expansion, like FreeSWITCH's XML dialplan.

File format::

    [[extension]]
    context = "default"
    name = "tone"
    destination = '^9100$'          # regex on destination_number
    actions = ["answer", "playback tone_stream://%(1000,0,440);loops=-1"]
    continue = false                # optional
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

_VAR = re.compile(r"\$\$\{([^}]*)\}|\$\{([^}]*)\}|\$(\d)")


def expand(
    text: str,
    variables: Mapping[str, str],
    globals_: dict[str, str],
    captures: tuple[str, ...] = (),
) -> str:
    """Expand ``$${global}``, ``${var}``, ``${var:=default}`` / ``${var:-default}`` and ``$N``."""
    if "$" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return globals_.get(m.group(1), "")
        if m.group(3) is not None:
            n = int(m.group(3))
            return captures[n - 1] if 0 < n <= len(captures) and captures[n - 1] else ""
        spec = m.group(2)
        default = None
        for sep in (":=", ":-"):
            if sep in spec:
                spec, default = spec.split(sep, 1)
                break
        value = variables.get(spec) or globals_.get(spec)
        if not value and default is not None:
            return default
        return value or ""

    return _VAR.sub(repl, text)


@dataclass
class Extension:
    context: str
    name: str
    pattern: re.Pattern[str]
    actions: list[tuple[str, str]]
    cont: bool = False


class DialplanError(ValueError):
    """A dialplan file is malformed."""


class Dialplan:
    """An ordered list of extensions per context."""

    def __init__(self, extensions: list[Extension]) -> None:
        self.extensions = extensions

    @classmethod
    def from_toml(cls, text: str, source: str = "<dialplan>") -> Dialplan:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DialplanError(f"{source}: {exc}") from exc
        exts = []
        for i, raw in enumerate(data.get("extension", [])):
            try:
                actions = []
                for action in raw["actions"]:
                    app, _, arg = str(action).strip().partition(" ")
                    actions.append((app, arg.strip()))
                exts.append(
                    Extension(
                        context=str(raw.get("context", "default")),
                        name=str(raw.get("name", f"ext{i}")),
                        pattern=re.compile(str(raw["destination"])),
                        actions=actions,
                        cont=bool(raw.get("continue", False)),
                    )
                )
            except (KeyError, TypeError, re.error) as exc:
                raise DialplanError(f"{source}: extension #{i + 1}: {exc}") from exc
        return cls(exts)

    @classmethod
    def load(cls, path: Path | None) -> Dialplan:
        """Load a dialplan file, or the built-in default one when ``path`` is None."""
        if path is None:
            text = resources.files("switchsim").joinpath("default_dialplan.toml").read_text()
            return cls.from_toml(text, "default_dialplan.toml")
        return cls.from_toml(path.read_text(), str(path))

    def lookup(
        self,
        context: str,
        destination: str,
        variables: dict[str, str],
        globals_: dict[str, str],
    ) -> list[tuple[str, str]] | None:
        """The expanded app list for a destination, or None when nothing matches."""
        found: list[tuple[str, str]] = []
        matched = False
        for ext in self.extensions:
            if ext.context != context:
                continue
            m = ext.pattern.search(destination)
            if not m:
                continue
            matched = True
            caps = tuple(g or "" for g in m.groups())
            for app, arg in ext.actions:
                # ${...} is expanded at execution time (variables may change), $N now.
                found.append((app, _expand_captures(arg, caps)))
            if not ext.cont:
                break
        if not matched:
            log.info("no dialplan match for %s in context %s", destination, context)
            return None
        return found


def _expand_captures(text: str, caps: tuple[str, ...]) -> str:
    if "$" not in text:
        return text
    return re.sub(
        r"(?<![$\\])\$(\d)",
        lambda m: caps[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(caps) else "",
        text,
    )


def separate_by(text: str, delim: str) -> list[str]:
    """switch_separate_string with a non-blank delimiter: ``'…'`` groups (quotes removed),
    a backslash escapes, items are stripped; ``^^X`` at the start picks delimiter X."""
    if text.startswith("^^") and len(text) > 3:
        delim, text = text[2], text[3:]
    items: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if c == "'" and (quoted or "'" in text[i + 1 :]):
            quoted = not quoted
        elif c == delim and not quoted:
            items.append("".join(current).strip(" "))
            current = []
        else:
            current.append(c)
        i += 1
    items.append("".join(current).strip(" "))
    return items if any(items) else []


def parse_inline(target: str) -> list[tuple[str, str]]:
    """mod_dptools inline_dialplan_hunt: ``app:arg,app:arg`` (``m:X:`` picks delimiter X);
    the first ``:`` of an item splits the application from its data."""
    delim = ","
    if len(target) > 3 and target[0] == "m" and target[1] == ":" and target[3] == ":":
        delim, target = target[2], target[4:]
    apps = []
    for item in separate_by(target, delim):
        app, _, data = item.partition(":")
        if app.strip():
            apps.append((app.strip(), data))
    return apps
