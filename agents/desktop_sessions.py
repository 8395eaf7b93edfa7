"""The agent desktop's WebSocket lives only as long as the sign-in it was opened with (issue 18,
item 11): signing out of the web session, or an agent or user deactivated or deleted, closes
the agent's open desktop sockets at once, in every web process (a channel-layer group per
agent); and each command a socket sends is refused unless its session still signs in that
user as that active agent (a session that expired or was flushed without a sign-out)."""

from __future__ import annotations

import hashlib
import logging
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare

from agents.models import Agent

log = logging.getLogger(__name__)
CLOSE_EVENT = "desktop.close"  # handled by AgentDesktopConsumer.desktop_close


def group_of(login_id: str) -> str:
    """The channel-layer group of an agent's desktop sockets (a valid group name whatever
    the agent ID holds)."""
    return "agent-desktop." + hashlib.sha256(login_id.encode()).hexdigest()[:40]


def close_desktops(login_id: str, why: str, session_key: str = "") -> None:
    """Close the agent's desktop sockets (only those of `session_key` when given), once the
    current transaction commits; a channel layer that cannot be reached is logged, and the
    sockets' next command is refused anyway (`still_signed_in`)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(
                group_of(login_id), {"type": CLOSE_EVENT, "session": session_key, "why": why}
            )
        except Exception as exc:
            log.warning(
                "agent %s: desktop sockets not told to close (%s): %s",
                login_id,
                why,
                exc,
                extra={"agent_id": login_id},
            )
            return
        log.info(
            "agent %s: desktop sockets closed: %s", login_id, why, extra={"agent_id": login_id}
        )

    transaction.on_commit(send)


def still_signed_in(user_id: int, agent_id: int, session_key: str | None) -> bool:
    """Whether the session still signs in user `user_id` (its password unchanged) and that
    user is still active agent `agent_id`."""
    if not session_key:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if str(session.get(SESSION_KEY, "")) != str(user_id):
        return False
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    stored = str(session.get(HASH_SESSION_KEY, ""))  # a changed password ends the session
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not stored or not any(constant_time_compare(stored, h) for h in hashes):
        return False
    return Agent.objects.filter(pk=agent_id, user_id=user_id, active=True).exists()


@receiver(user_logged_out)
def signed_out(sender: type, request: Any, user: Any, **kwargs: Any) -> None:
    """A web sign-out closes the desktop sockets opened with that session."""
    agent = Agent.objects.filter(user_id=getattr(user, "pk", None)).first() if user else None
    if agent is None:
        return
    session = getattr(request, "session", None)
    close_desktops(agent.login_id, "signed out", getattr(session, "session_key", None) or "")


@receiver(post_save, sender=Agent)
def agent_saved(sender: type, instance: Agent, **kwargs: Any) -> None:
    if not instance.active:
        close_desktops(instance.login_id, "agent deactivated")


@receiver(post_delete, sender=Agent)
def agent_deleted(sender: type, instance: Agent, **kwargs: Any) -> None:
    close_desktops(instance.login_id, "agent deleted")


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def user_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    if not instance.is_active:
        for login_id in Agent.objects.filter(user=instance).values_list("login_id", flat=True):
            close_desktops(login_id, "user deactivated")
