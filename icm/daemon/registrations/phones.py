"""Follows the phones' registrations on one switch (ICM-1) and tells the ACD which agents'
phones cannot be rung: such an agent keeps its state but is offered no contact, and the
routing explanation and its live view (wallboard) say why. Runs in the consumer greenlet."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from icm.daemon.acd.runtime import AcdRuntime
from icm.domain.registrations import (
    PhoneState,
    RegistrationEvent,
    Registrations,
    RegistrationsSnapshot,
)

log = logging.getLogger(__name__)

WHY = {
    "expired": "its registration expired",
    "unregistered": "it signed off",
    "absent": "not in the switch's registrations",
}


class PhoneRegistry:
    def __init__(
        self,
        switch: str,
        acd: AcdRuntime,
        view_changed: Callable[[str], None],
        save: Callable[[dict[str, PhoneState]], None],
    ) -> None:
        self.switch = switch
        self.acd = acd
        self.view_changed = view_changed
        self.save = save
        self.registrations = Registrations()

    def apply(self, event: RegistrationEvent) -> None:
        changed = self.registrations.apply(event)
        users = set(changed)
        if isinstance(event, RegistrationsSnapshot):  # every agent's phone is known now
            users |= set(self.acd.extension_agents)
        for user in sorted(users):
            agent_id = self.acd.extension_agents.get(user, "")
            agent = self.acd.agent(agent_id)
            why = self.unreachable(user)
            if agent is not None and agent.unreachable != why:
                log.info("icm %s: agent %s: %s", self.switch, agent_id, why or "phone back")
                self.acd.set_phone_unreachable(agent_id, why)
                self.view_changed(agent_id)
        if changed:
            self.save(dict(self.registrations.phones))

    def unreachable(self, user: str) -> str:
        """Why `user`'s phone cannot be rung ("": it can, or nothing is known yet)."""
        if self.registrations.registered(user) is not False:
            return ""
        phone = self.registrations.phones.get(user)
        return f"phone {user} not registered ({WHY[phone.why if phone else 'absent']})"

    def agent_view(self, agent_id: str) -> Mapping[str, Any]:
        """`phone`: the agent's extension, registered (true / false / null: not known yet)
        and why not."""
        user = self.acd.extensions.get(agent_id, "")
        if not user:
            return {"phone": None}
        return {
            "phone": {
                "extension": user,
                "registered": self.registrations.registered(user),
                "why": self.unreachable(user),
            }
        }
