"""The voicemail feature's contract: the `message_waiting` bus command (the mailbox page: a
message heard, deleted, forwarded), the IVR's `LampChanged` (a message filed) and a phone's
registration (`PhoneRegistered`: the phone gets its lamp again, as mod_voicemail answers a
REGISTER's MESSAGE_QUERY), each rendered by the switch adapter as a MESSAGE_WAITING event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gevent
from django.db import connection

from icm.daemon.feature import Contract
from icm.daemon.voicemail.messages import LampChanged
from icm.domain import commands as cmd
from icm.domain.registrations import PhoneRegistered
from voicemail.filing import lamp_of_phone

log = logging.getLogger(__name__)


def contract(switch: str, api: Callable[[cmd.SwitchCommand], str]) -> Contract:
    def light(user: str, domain: str, new: int, old: int) -> dict[str, Any]:
        reply = api(cmd.MessageWaiting(user, domain, new, old))
        log.info(
            "icm %s: message waiting %s@%s: %d new, %d old (%s)",
            switch,
            user,
            domain,
            new,
            old,
            reply,
        )
        return {"user": user, "domain": domain, "new": new, "old": old}

    def message_waiting(args: dict[str, Any]) -> dict[str, Any]:
        return light(str(args["user"]), str(args["domain"]), int(args["new"]), int(args["old"]))

    def lamp_changed(item: LampChanged) -> None:
        # the consumer greenlet never waits for the switch: the command runs beside it
        gevent.spawn(_logged, light, item.user, item.domain, item.new, item.old)

    def registered(item: PhoneRegistered) -> None:
        gevent.spawn(_logged, relight, item.user, item.domain)

    def relight(user: str, domain: str) -> None:
        try:
            lamp = lamp_of_phone(user, domain)
        finally:
            connection.close()  # this greenlet's own connection
        if lamp is not None:
            light(lamp.user, lamp.domain, lamp.new, lamp.old)

    return Contract(
        "voicemail",
        handles=((LampChanged, lamp_changed), (PhoneRegistered, registered)),
        commands={"message_waiting": message_waiting},
    )


def _logged(run: Callable[..., object], *args: object) -> None:
    try:
        run(*args)
    except Exception:
        log.exception("message waiting %s not set", args[:2])
