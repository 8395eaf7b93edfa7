"""The company's dialling rules for system calls (issue 18 item 4), loaded from the database
(`DiallingRuleSet`, edited in the admin; its defaults when nobody saved one). The rules
themselves are outbound.domain.dialling_rules; this module only reads them, and decides
which numbers leave through a trunk (an IVR transfer to an extension does not)."""

from __future__ import annotations

import logging
import re

from icm.models import Extension
from outbound.domain.dialling_rules import (
    DiallingRules,
    NumberRefused,
    check,
    parse_codes,
    parse_entries,
    refusal,
)
from outbound.models import DiallingRuleSet

log = logging.getLogger(__name__)

__all__ = [
    "NumberRefused",
    "check_system_number",
    "destination_refusal",
    "rules_of",
    "system_refusal",
    "system_rules",
    "transfer_refusal",
]


def rules_of(row: DiallingRuleSet) -> DiallingRules:
    """The pure rules of a rule-set row, or ValueError (InvalidRules) naming what is wrong."""
    return DiallingRules(
        allow_international=row.allow_international,
        allowed_countries=parse_codes(row.allowed_countries),
        home_country_codes=parse_codes(row.home_country_codes),
        international_prefixes=parse_codes(row.international_prefixes),
        blocked_prefixes=parse_entries(row.blocked_prefixes),
        allowed_prefixes=parse_entries(row.allowed_prefixes),
        min_digits=row.min_digits,
        max_digits=row.max_digits,
    )


def system_rules() -> DiallingRules:
    """The rule set in force: the saved one, else the safe defaults. A saved set that cannot
    be read (edited behind the admin's back) refuses every number rather than none."""
    row = DiallingRuleSet.objects.filter(pk=1).first()
    if row is None:
        return DiallingRules()
    try:
        return rules_of(row)
    except ValueError as exc:
        log.error("dialling rules unreadable (%s): every system call is refused", exc)
        return DiallingRules(allowed_prefixes=("+0",), blocked_prefixes=())


def check_system_number(number: str, rules: DiallingRules | None = None) -> str:
    """The number as it will be dialled, or NumberRefused with the reason."""
    return check(rules or system_rules(), number)


def system_refusal(number: str) -> str:
    """Why the platform may not dial `number` ("" when it may)."""
    return refusal(system_rules(), number)


def destination_refusal(target: str) -> str:
    """Why the platform may not send a call to `target` in the dialplan ("" when it may): an
    enabled extension, a feature code or a name stays inside the switch; a number may leave
    through the trunk (the default context sends 5 to 15 digits to the carrier) and must
    pass the system rules."""
    if not re.fullmatch(r"\+?[0-9]+", target):
        return ""
    if Extension.objects.filter(number=target, enabled=True).exists():
        return ""
    return system_refusal(target)


def transfer_refusal(kind: str, target: str) -> str:
    """Why an IVR may not transfer a caller to `target` ("" when it may): agents are rung on
    their extension; other targets as destination_refusal says."""
    reason = "" if kind == "agent" else destination_refusal(target)
    if reason:
        log.warning("IVR transfer to %s %s refused: %s", kind, target, reason)
    return reason
