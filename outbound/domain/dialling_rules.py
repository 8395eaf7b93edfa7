"""The company's dialling rules for calls the platform places by itself (issue 18 item 4):
call-backs a caller or a business system asked for, campaign contacts, IVR transfers to
outside numbers. A number that leaves through a trunk without an agent choosing it must pass
them; an agent's own calls keep the per-agent rules (AG-16, agents.dialing).

A number is digits with an optional leading `+` (spaces, dots, dashes and brackets are
dropped first); `*` and `#` never leave through a trunk. It is *international* when written
with `+` or one of `international_prefixes` (default `00`), unless its country code is one of
`home_country_codes` (then it is a domestic number written internationally).

Prefix lists (blocked, allowed, a transfer node's allow-list) take entries of two spellings:
- `+<digits>`: numbers written internationally whose digits after `+` (or after the
  international prefix) start with them, e.g. `+1900`, `+44 9`;
- `<digits>`: numbers written nationally (no `+`, no international prefix) that start with
  them, e.g. `0900`, `1900`.
A number is refused when it is too short or long, matches a blocked prefix, is international
and neither `allow_international` nor `allowed_countries` lets it through, or misses the
`allowed_prefixes` allow-list when that list is not empty.

The defaults are safe: no international numbers, and the usual premium-rate and satellite
ranges blocked (North America 1-900 / 1-976, UK 09 / 087x / 070 / 118, the international
premium and satellite codes +979, +881, +882, +883, +870).

An IVR transfer node's allow-list uses the same entries, plus a trailing `*` for "and any
digits after": `+44 20 7946 0000` allows that number only, `+44 20 7946*` the whole range.

Pure: no Django, no I/O; the database loader is outbound.dialling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_ENTRIES = 500
DEFAULT_BLOCKED = (
    "1900",
    "1976",
    "+1900",
    "+1976",  # North America: premium rate
    "09",
    "0871",
    "0872",
    "0873",
    "070",
    "118",  # UK: premium, personal numbers, directories
    "+449",
    "+44871",
    "+44872",
    "+44873",
    "+4470",
    "+44118",
    "+979",
    "+881",
    "+882",
    "+883",
    "+870",  # international premium, satellite networks
)
DEFAULT_INTERNATIONAL_PREFIXES = ("00",)

_SEPARATORS = re.compile(r"[\s().\-/]")
_NUMBER = re.compile(r"\+?[0-9]+")
_ENTRY = re.compile(r"\+?[0-9]{1,20}")
_ALLOW_ENTRY = re.compile(r"\+?[0-9]{1,20}\*?")
_DIGITS = re.compile(r"[0-9]{1,6}")


class NumberRefused(ValueError):
    """The number may not be dialled by the platform; the message says why."""


class InvalidRules(ValueError):
    """A rule set or an allow-list that cannot be followed; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class DiallingRules:
    allow_international: bool = False
    allowed_countries: tuple[str, ...] = ()  # country codes allowed when international is off
    home_country_codes: tuple[str, ...] = ()
    international_prefixes: tuple[str, ...] = DEFAULT_INTERNATIONAL_PREFIXES
    blocked_prefixes: tuple[str, ...] = DEFAULT_BLOCKED
    allowed_prefixes: tuple[str, ...] = ()  # empty: every number the other rules allow
    min_digits: int = 3
    max_digits: int = 15

    def __post_init__(self) -> None:
        if not 1 <= self.min_digits <= self.max_digits <= 20:
            raise InvalidRules("digits: 1 ≤ minimum ≤ maximum ≤ 20")
        for name in ("allowed_countries", "home_country_codes", "international_prefixes"):
            for code in getattr(self, name):
                if not _DIGITS.fullmatch(code):
                    raise InvalidRules(f"{name}: {code!r} is not 1 to 6 digits")
        for name in ("blocked_prefixes", "allowed_prefixes"):
            for entry in getattr(self, name):
                if not _ENTRY.fullmatch(entry):
                    raise InvalidRules(f"{name}: {entry!r} is not digits, optionally after +")


@dataclass(frozen=True, slots=True)
class Number:
    """A number as the rules see it."""

    dialled: str  # normalised: digits, maybe a leading +
    international: bool  # written with + or an international prefix
    digits: str  # after the + or the international prefix (international), else as dialled

    def matches(self, entry: str) -> bool:
        """Does this number start with the prefix `entry` (+digits or digits)?"""
        if entry.startswith("+"):
            return self.international and self.digits.startswith(entry[1:])
        return not self.international and self.digits.startswith(entry)

    def is_exactly(self, entry: str) -> bool:
        if entry.startswith("+"):
            return self.international and self.digits == entry[1:]
        return not self.international and self.digits == entry


def normalise(number: object) -> str:
    """Digits with an optional leading + (separators dropped), or NumberRefused."""
    text = _SEPARATORS.sub("", number) if isinstance(number, str) else ""
    if not _NUMBER.fullmatch(text):
        raise NumberRefused(f"{str(number)[:40]!r} is not a phone number (digits, maybe after +)")
    return text


def parse(number: object, international_prefixes: Iterable[str] = ("00",)) -> Number:
    """The number's spelling: international or national, and its digits."""
    dialled = normalise(number)
    if dialled.startswith("+"):
        return Number(dialled, True, dialled[1:])
    for prefix in sorted(international_prefixes, key=len, reverse=True):
        if prefix and dialled.startswith(prefix) and len(dialled) > len(prefix):
            return Number(dialled, True, dialled[len(prefix) :])
    return Number(dialled, False, dialled)


def check(rules: DiallingRules, number: object) -> str:
    """The number as it will be dialled, or NumberRefused saying which rule refuses it."""
    parsed = parse(number, rules.international_prefixes)
    count = len(parsed.digits)
    if not rules.min_digits <= count <= rules.max_digits:
        raise NumberRefused(
            f"{parsed.dialled} has {count} digits; the dialling rules allow "
            f"{rules.min_digits} to {rules.max_digits}"
        )
    blocked = next((e for e in rules.blocked_prefixes if parsed.matches(e)), None)
    if blocked is not None:
        raise NumberRefused(
            f"{parsed.dialled} is in a blocked range ({blocked}) of the dialling rules"
        )
    home = any(parsed.digits.startswith(code) for code in rules.home_country_codes)
    if parsed.international and not home and not rules.allow_international:
        if not any(parsed.digits.startswith(code) for code in rules.allowed_countries):
            raise NumberRefused(
                f"{parsed.dialled} is an international number; the dialling "
                "rules do not allow its country"
            )
    if rules.allowed_prefixes and not any(parsed.matches(e) for e in rules.allowed_prefixes):
        raise NumberRefused(f"{parsed.dialled} is not in a range the dialling rules allow")
    return parsed.dialled


def refusal(rules: DiallingRules, number: object) -> str:
    """Why the rules refuse the number ("" when they allow it)."""
    try:
        check(rules, number)
    except NumberRefused as exc:
        return str(exc)
    return ""


_DEFAULTS = DiallingRules()


def default_refusal(number: object) -> str:
    """Why the default rules refuse the number: what a component uses until it is given the
    company's rules (safe: no international, no premium)."""
    return refusal(_DEFAULTS, number)


def parse_entries(value: object, *, wildcard: bool = False) -> tuple[str, ...]:
    """Prefix entries from text (separated by commas, semicolons or new lines; spaces inside
    an entry are dropped) or from a list, or InvalidRules. `wildcard`: an allow-list, whose
    entries may end with `*`."""
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        raw = re.split(r"[,;\n]", value)
    elif isinstance(value, list | tuple):
        raw = [str(v) for v in value]
    else:
        raise InvalidRules("a list of numbers or prefixes, or text with one per line")
    pattern = _ALLOW_ENTRY if wildcard else _ENTRY
    entries = []
    for item in raw:
        entry = _SEPARATORS.sub("", item)
        if not entry:
            continue
        if not pattern.fullmatch(entry):
            what = (
                "digits, maybe after + and maybe ending with *"
                if wildcard
                else ("digits, maybe after +")
            )
            raise InvalidRules(f"{item.strip()[:40]!r} is not {what}")
        entries.append(entry)
    if len(entries) > MAX_ENTRIES:
        raise InvalidRules(f"at most {MAX_ENTRIES} entries")
    return tuple(dict.fromkeys(entries))


def parse_codes(value: object) -> tuple[str, ...]:
    """Country codes or international prefixes from text, or InvalidRules."""
    codes = tuple(c.lstrip("+") for c in re.split(r"[,;\s]+", str(value or "")) if c)
    bad = [c for c in codes if not _DIGITS.fullmatch(c)]
    if bad:
        raise InvalidRules(f"{bad[0][:20]!r} is not a code of 1 to 6 digits")
    return codes


def on_allow_list(
    entries: Iterable[str],
    number: object,
    international_prefixes: Iterable[str] = DEFAULT_INTERNATIONAL_PREFIXES,
) -> bool:
    """Is the number one of `entries` (an IVR transfer node's allow-list)? An entry ending
    with `*` allows every number starting with it; any other only that number."""
    try:
        parsed = parse(number, international_prefixes)
    except NumberRefused:
        return False
    for raw in entries:
        entry = _SEPARATORS.sub("", raw)
        if entry.endswith("*"):
            if parsed.matches(entry[:-1]):
                return True
        elif parsed.is_exactly(entry):
            return True
    return False
