"""The phone-registrations feature's contract: the switch's registration events and snapshot,
and the `phone` key of an agent's live view."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.feature import Contract
from icm.daemon.outbox import Outbox
from icm.daemon.registrations.phones import PhoneRegistry
from icm.daemon.registrations.store import write_registrations
from icm.domain.registrations import PhoneRegistered, PhoneUnregistered, RegistrationsSnapshot


def contract(
    switch: str, acd: AcdRuntime, view_changed: Callable[[str], None], outbox: Outbox
) -> Contract:
    saved = outbox.latest("phone registrations", partial(write_registrations, switch))
    registry = PhoneRegistry(switch, acd, view_changed, saved.put)
    acd.phone_reach = registry.unreachable  # an agent's new extension is checked at once
    return Contract(
        "registrations",
        handles=[
            (PhoneRegistered, registry.apply),
            (PhoneUnregistered, registry.apply),
            (RegistrationsSnapshot, registry.apply),
        ],
        agent_view=registry.agent_view,
    )
