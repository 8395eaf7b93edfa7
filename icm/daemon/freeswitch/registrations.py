"""mod_sofia's registration events and `show registrations as json`, as the domain's
registration events (ICM-1). Headers as a real FreeSWITCH sends them
(sofia-register-gateway.txt; `sofia::expire` from sofia_reg.c `sofia_reg_del_callback`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from icm.domain.registrations import (
    PhoneRegistered,
    PhoneUnregistered,
    RegistrationRow,
    RegistrationsSnapshot,
)

SUBCLASSES = ("sofia::register", "sofia::unregister", "sofia::expire")


def registration_event(
    switch: str, headers: Mapping[str, str], at: datetime
) -> PhoneRegistered | PhoneUnregistered | None:
    """One `sofia::register` / `unregister` / `expire` CUSTOM event, or None."""
    subclass = headers.get("Event-Subclass", "")
    call_id = headers.get("call-id", "")
    if subclass == "sofia::register":
        return PhoneRegistered(
            switch,
            headers.get("from-user", ""),
            headers.get("from-host", ""),
            call_id,
            headers.get("contact", ""),
            headers.get("network-ip", ""),
            headers.get("user-agent", ""),
            at,
        )
    if subclass == "sofia::unregister":
        user, domain = headers.get("from-user", ""), headers.get("from-host", "")
        return PhoneUnregistered(switch, user, domain, call_id, "unregistered", at)
    if subclass == "sofia::expire":
        user = headers.get("user") or headers.get("username", "")
        return PhoneUnregistered(switch, user, headers.get("host", ""), call_id, "expired", at)
    return None


def registrations_from_show(switch: str, payload: str, at: datetime) -> RegistrationsSnapshot:
    """`show registrations as json` (`{"row_count": 0}` when there are none); ValueError when
    the reply is not that (an error, no core database)."""
    payload = payload.strip()
    if not payload.startswith("{"):
        raise ValueError(f"not a json api reply: {payload[:80]!r}")
    rows = []
    for row in json.loads(payload).get("rows") or []:
        user = str(row.get("reg_user", ""))
        if not user:
            continue
        try:
            expires = float(row.get("expires") or 0)
        except ValueError:
            expires = 0.0
        rows.append(
            RegistrationRow(
                user,
                str(row.get("realm", "")),
                str(row.get("token", "")),
                str(row.get("url", "")),
                str(row.get("network_ip", "")),
                expires,
            )
        )
    return RegistrationsSnapshot(switch, tuple(rows), at)
