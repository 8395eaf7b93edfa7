"""Outbound calls from the desktop or a business system (AG-8, AG-16, AG-23, INT-4): the
number is checked against the dialing rules for the agent's level, then icm rings the
agent's phone and connects it to the number (an extension inside, the trunk outside)."""

from __future__ import annotations

import re
from typing import Any

from agents.models import Agent, DialRule
from icm import client as icm
from icm.models import Extension, Gateway


class DialRefused(ValueError):
    """The number may not be dialled by this agent, or is not a number; says why."""


def normalise(number: str) -> str:
    digits = re.sub(r"[\s().-]", "", str(number))
    if not re.fullmatch(r"\+?[0-9*#]{2,20}", digits):
        raise DialRefused(f"{number!r} is not a phone number")
    return digits


def _forms(number: str) -> set[str]:
    """The spellings a rule is tried on: the digits, "+" written as the international
    prefix 00, and without leading zeros — so "+44…", "0044…" and "44…" meet the same rules."""
    digits = number.lstrip("+")
    forms = {digits, digits.lstrip("0")}
    if number.startswith("+"):
        forms.add("00" + digits)
    return forms


def check_rules(agent: Agent, number: str) -> None:
    for rule in DialRule.objects.filter(enabled=True):
        try:
            matches = any(re.search(rule.pattern, form) for form in _forms(number))
        except re.error:
            continue
        if matches:
            if agent.level < rule.minimum_level:
                raise DialRefused(rule.message)
            return


def check_destination(agent: Agent, number: str) -> tuple[str, bool]:
    """(the number as it will be dialled, whether it is an internal extension), or
    DialRefused: the dialing rules apply to every way a number can be reached (dial,
    transfer); feature codes (* and #) only ever reach extensions."""
    number = normalise(number)
    internal = Extension.objects.filter(number=number, enabled=True).exists()
    if not internal and re.search(r"[*#]", number):
        raise DialRefused(f"{number!r} is not a phone number")
    check_rules(agent, number)
    return number, internal


def check_dial(agent: Agent, switch: str, number: str) -> dict[str, Any]:
    """Dial `number` for `agent` (its phone rings first), or DialRefused with the reason."""
    number, internal = check_destination(agent, number)
    trunk: dict[str, Any] = {}
    if not internal:
        trunk["gateway"], trunk["caller_id"] = trunk_for(switch)
    return icm.agent_call(switch, agent.login_id, "dial", number=number, **trunk)


def trunk_for(switch: str) -> tuple[str, str]:
    """(gateway, the company's caller number) for outside calls on `switch`, or DialRefused."""
    gateway = (
        Gateway.objects.filter(switch__name=switch, enabled=True)
        .order_by("id")
        .values_list("name", "caller_id_number")
        .first()
    )
    if gateway is None:
        raise DialRefused(f"switch {switch} has no enabled trunk for outside calls")
    return gateway[0], gateway[1] or ""
