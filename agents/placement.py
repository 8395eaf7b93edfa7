"""Where an agent is: the active agent a signed-in user is, and the switch its phone is on.

Low in the agents app (models and settings only) so that the desktop, call-backs and
supervision can all ask it without importing one another.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from agents.models import Agent
from icm.models import Switch


def agent_of(user: Any) -> Agent | None:
    """The active agent a signed-in user is, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Agent.objects.filter(user=user, active=True).select_related("extension").first()


def switch_of(agent: Agent) -> str:
    """The switch an agent's phone is on: its extension's site's switch, else the default."""
    if agent.extension_id is not None:
        name = (
            Switch.objects.filter(site_id=agent.extension.site_id)
            .order_by("id")
            .values_list("name", flat=True)
            .first()
        )
        if name:
            return name
    return settings.IPBX_SWITCH_NAME
