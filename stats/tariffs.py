"""Call rating (issue 8, OPS-1): what an outbound or transferred-out leg costs under a tariff
plan — a table of number prefixes, each with a price per minute, a connection fee, a minimum
and billing increments, optionally valid between two dates. Pure: no Django, no I/O.

Rules (the tests compute each by hand):
- **Normalisation.** Spaces, dots, dashes, slashes and brackets are dropped; a leading "+" or
  the international prefix "00" is removed, so "+44 20 7946 0000", "0044 20 7946 0000" and
  "44 20 7946 0000" are all "442079460000". A single leading "0" (a national trunk prefix)
  is kept: international destinations are written by country code ("44", "1", "33") and
  national ones as dialled ("01", "06"). Anything else that is not a digit ("*", "#", "sip:")
  makes the number unratable. Only the ITU international prefix 00 is removed, not North
  America's 011.
- **Matching.** Among the rates valid at the leg's start, the longest prefix of the number
  wins. A rate is valid on the days valid_from ≤ day < valid_until (either bound open):
  a new price starts the day the old one stops, without overlap. When the longest prefix has
  no rate valid that day, the next shorter one applies. No match: `cost` is None ("no rate"),
  never an exception — the report lists these legs.
- **Billed seconds.** An unanswered leg (0 s) is billed 0 s and costs 0, with no connection
  fee. Otherwise a started second counts as a whole one; the first increment is billed whole
  (60 under 60/60, 30 under 30/6), the rest in whole next increments; then the minimum
  applies. 61 s: 120 under 60/60, 66 under 30/6, 61 under 1/1.
- **Cost** = connection fee + price per minute × billed seconds ÷ 60 in Decimal (28 digits),
  rounded once to `decimals` places, half up. Per-leg costs keep 4 decimals by default so that
  sums per queue, agent or campaign do not accumulate cent roundings (6 s at 0.0150 a minute
  is 0.0015: to the cent it would be 0.00, and a thousand such legs would cost nothing);
  `display()` rounds a total to the currency's minor unit (2 decimals) at the end.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

PER_LEG_DECIMALS = 4
DISPLAY_DECIMALS = 2
_FORMATTING = re.compile(r"[\s().\-/]")
_DIGITS = re.compile(r"[0-9]+")
_SIXTY = Decimal(60)


class TariffError(ValueError):
    """A rate or a plan that cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Rate:
    prefix: str
    price_per_minute: Decimal
    description: str = ""
    connection_fee: Decimal = Decimal(0)
    minimum_seconds: int = 0
    first_increment: int = 60
    next_increment: int = 60
    valid_from: date | None = None
    valid_until: date | None = None  # exclusive

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise TariffError(f"rate {self.prefix!r}: {problem}")

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day < self.valid_until
        )

    def billed_seconds(self, seconds: float) -> int:
        if seconds <= 0:
            return 0
        whole = math.ceil(seconds)
        billed = self.first_increment
        if whole > billed:
            billed += math.ceil((whole - billed) / self.next_increment) * self.next_increment
        return max(billed, self.minimum_seconds)


def _problem(rate: Rate) -> str:
    """What is wrong with a rate ("" when nothing); the model's fields check the same."""
    if not _DIGITS.fullmatch(rate.prefix):
        return "the prefix must be digits only (no +, 00 or spaces)"
    if rate.price_per_minute < 0 or rate.connection_fee < 0:
        return "prices cannot be negative"
    if rate.minimum_seconds < 0:
        return "the minimum cannot be negative"
    if rate.first_increment < 1 or rate.next_increment < 1:
        return "increments are at least 1 second"
    if rate.valid_from and rate.valid_until and rate.valid_until <= rate.valid_from:
        return "valid until must be after valid from"
    return ""


def periods_overlap(
    a_from: date | None, a_until: date | None, b_from: date | None, b_until: date | None
) -> bool:
    """Whether two validity periods [from, until) share a day (None: open-ended)."""
    return (a_until is None or b_from is None or b_from < a_until) and (
        b_until is None or a_from is None or a_from < b_until
    )


@dataclass(frozen=True, slots=True)
class Rating:
    number: str  # normalised; "" when the number was not a phone number
    rate: Rate | None
    billed_seconds: int
    cost: Decimal | None  # None: no rate for this destination

    @property
    def rated(self) -> bool:
        return self.cost is not None


def normalise(number: str) -> str:
    """The number's digits as the tariff's prefixes are written, or "" if it has others."""
    digits = _FORMATTING.sub("", number)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    return digits if _DIGITS.fullmatch(digits) else ""


def display(amount: Decimal, decimals: int = DISPLAY_DECIMALS) -> Decimal:
    """A total rounded to the currency's minor unit (half up) for reports."""
    return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class Tariff:
    """A plan's rates indexed by prefix: a lookup tries only the prefix lengths the plan has,
    longest first — one dict probe per distinct length, whatever the number of rates."""

    rates: Iterable[Rate]
    currency: str = ""
    decimals: int = PER_LEG_DECIMALS
    _by_prefix: dict[str, tuple[Rate, ...]] = field(init=False, repr=False)
    _lengths: tuple[int, ...] = field(init=False, repr=False)
    _quantum: Decimal = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rates = tuple(self.rates)
        grouped: dict[str, list[Rate]] = {}
        for rate in self.rates:
            same = grouped.setdefault(rate.prefix, [])
            for other in same:
                if periods_overlap(
                    rate.valid_from, rate.valid_until, other.valid_from, other.valid_until
                ):
                    raise TariffError(f"two rates for prefix {rate.prefix} overlap in time")
            same.append(rate)
        self._by_prefix = {prefix: tuple(rates) for prefix, rates in grouped.items()}
        self._lengths = tuple(sorted({len(prefix) for prefix in grouped}, reverse=True))
        self._quantum = Decimal(1).scaleb(-self.decimals)

    def match(self, number: str, day: date) -> Rate | None:
        """The rate for an already normalised number on `day` (longest prefix wins)."""
        size = len(number)
        for length in self._lengths:
            if length > size:
                continue
            for rate in self._by_prefix.get(number[:length], ()):
                if rate.valid_on(day):
                    return rate
        return None

    def rate(self, number: str, billed_start: date, seconds: float) -> Rating:
        """Rate one leg: dialled `number`, answered at `billed_start` (its date in the
        plan's time zone decides validity), `seconds` of talk (0 when unanswered)."""
        digits = normalise(number)
        day = billed_start.date() if isinstance(billed_start, datetime) else billed_start
        rate = self.match(digits, day) if digits else None
        if seconds <= 0:
            return Rating(digits, rate, 0, Decimal(0).quantize(self._quantum))
        if rate is None:
            return Rating(digits, None, 0, None)
        billed = rate.billed_seconds(seconds)
        exact = rate.connection_fee + rate.price_per_minute * billed / _SIXTY
        return Rating(digits, rate, billed, exact.quantize(self._quantum, ROUND_HALF_UP))
