"""Tell the running icm(s) when routing configuration changes, so it applies live (R-10)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from agents.models import Agent, AgentSkill
from icm import client as icm
from icm.models import Extension, Queue, QueueAgent, QueueSkill, Switch

log = logging.getLogger(__name__)


def _notify(tell: Callable[..., None], **args: str) -> None:
    """Once the transaction commits, `tell(switch, **args)` every icm (a notification of
    `icm.client`, named as its command)."""
    switches = set(Switch.objects.filter(enabled=True).values_list("name", flat=True))
    switches.add(settings.IPBX_SWITCH_NAME)

    def send() -> None:
        try:
            for switch in switches:
                tell(switch, **args)
        except redis.RedisError as exc:  # icm reloads everything when it starts anyway
            log.warning("could not tell icm about %s %s: %s", tell.__name__, args, exc)

    transaction.on_commit(send)


@receiver(post_save, sender=Queue)
def queue_saved(sender: type, instance: Queue, **kwargs: Any) -> None:
    _notify(icm.reload_queue, queue=instance.name)


@receiver([post_save, post_delete], sender=QueueSkill)
def queue_skill_changed(sender: type, instance: QueueSkill, **kwargs: Any) -> None:
    _notify(icm.reload_queue, queue=instance.queue.name)


@receiver([post_save, post_delete], sender=QueueAgent)
def queue_agent_changed(sender: type, instance: QueueAgent, **kwargs: Any) -> None:
    """An agent's top-down position or reserve flag in a queue (R-6)."""
    _notify(icm.reload_queue, queue=instance.queue.name)


@receiver(post_save, sender=Agent)
def agent_saved(sender: type, instance: Agent, **kwargs: Any) -> None:
    _notify(icm.reload_agent, agent=instance.login_id)


@receiver([post_save, post_delete], sender=AgentSkill)
def agent_skill_changed(sender: type, instance: AgentSkill, **kwargs: Any) -> None:
    _notify(icm.reload_agent, agent=instance.agent.login_id)


@receiver([post_save, post_delete], sender=Extension)
def extension_changed(sender: type, instance: Extension, **kwargs: Any) -> None:
    """The switch caches directory users: a changed password, caller ID or a disabled
    extension must not wait for the cache to expire."""
    _flush_directory(instance)


@receiver(post_save, sender=Agent)
def agent_extension_changed(sender: type, instance: Agent, **kwargs: Any) -> None:
    if instance.extension_id:  # its directory entry names the agent (ipbx_agent_id)
        _flush_directory(instance.extension)


def _flush_directory(extension: Extension) -> None:
    _notify(icm.flush_directory, user=extension.number, domain=extension.site.sip_domain)
