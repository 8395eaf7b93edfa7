"""`manage.py demo_login`: sign the demo agents in (ready) once icm answers, for `make run`."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from agents.models import Agent
from icm.actions import check_agent_state
from icm.bus.commands import CommandError, IcmUnavailable

log = logging.getLogger("demo_login")


class Command(BaseCommand):
    help = "Sign in every active agent that has an extension (demo); --stay keeps running."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--switch", default=settings.IPBX_SWITCH_NAME)
        parser.add_argument("--stay", action="store_true", help="sleep afterwards (honcho)")
        parser.add_argument("--wait", type=float, default=120, help="seconds to wait for icm")

    def handle(self, *args, **options) -> None:
        agents = list(
            Agent.objects.filter(active=True, extension__isnull=False).values_list(
                "login_id", flat=True
            )
        )
        deadline = time.monotonic() + options["wait"]
        for login_id in agents:
            while True:
                try:
                    check_agent_state(options["switch"], login_id, "login", "")
                    log.info("demo agent %s signed in", login_id)
                    break
                except IcmUnavailable:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
                except CommandError as exc:
                    log.warning("demo agent %s: %s", login_id, exc)
                    break
        while options["stay"]:
            time.sleep(3600)
