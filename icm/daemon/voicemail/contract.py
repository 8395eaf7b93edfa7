"""The voicemail feature's contract: the `message_waiting` bus command (the mailbox page: a
message heard, deleted, forwarded) and the IVR's `LampChanged` (a message filed), both
rendered by the switch adapter as a MESSAGE_WAITING event for the phone."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gevent

from icm.daemon.feature import Contract
from icm.daemon.voicemail.messages import LampChanged
from icm.domain import commands as cmd

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

    return Contract(
        "voicemail",
        handles=((LampChanged, lamp_changed),),
        commands={"message_waiting": message_waiting},
    )


def _logged(run: Callable[..., object], *args: object) -> None:
    try:
        run(*args)
    except Exception:
        log.exception("message waiting %s not set", args[:2])
