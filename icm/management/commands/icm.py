"""`manage.py icm`: run the ICM daemon for one switch (gevent; patched first in manage.py)."""

from __future__ import annotations

import logging
import signal

import gevent
from django.conf import settings
from django.core.management.base import BaseCommand

from icm.daemon.collector import settle_collector
from icm.daemon.freeswitch.driver import SwitchAddress
from icm.daemon.memory_report import install_from_environment, start_tracing_from_environment
from icm.daemon.wiring import IcmConfig, IcmService

log = logging.getLogger("icm")


class Command(BaseCommand):
    help = "Run icm: drive one FreeSWITCH (or switchsim) over ESL, keep the live call model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--switch", default=settings.IPBX_SWITCH_NAME, help="switch name")

    def handle(self, *args, **options) -> None:
        # DEBUG makes every database connection keep its last 9,000 queries (SQL text and
        # time: ~13 MB per long-lived greenlet's connection, issue 21's "icm grows" on the
        # development settings); icm serves no pages, so nothing of DEBUG is wanted here
        settings.DEBUG = False
        config = IcmConfig(
            switch=SwitchAddress(
                name=options["switch"],
                host=settings.FREESWITCH_ESL_HOST,
                port=settings.FREESWITCH_ESL_PORT,
                password=settings.FREESWITCH_ESL_PASSWORD,
            ),
            redis_url=settings.REDIS_URL,
            outbound_host=settings.ICM_OUTBOUND_HOST,
            outbound_port=settings.ICM_OUTBOUND_PORT,
            outbound_allowed=tuple(settings.ICM_OUTBOUND_ALLOWED),
            command_timeout=settings.FREESWITCH_ESL_COMMAND_TIMEOUT,
            heartbeat_timeout=settings.FREESWITCH_ESL_HEARTBEAT_TIMEOUT,
            reconcile_interval=settings.ICM_RECONCILE_INTERVAL,
            reconcile_grace=settings.ICM_RECONCILE_GRACE,
            not_ready_alarm_seconds=settings.IPBX_ALARM_NOT_READY_SECONDS or None,
            snapshot_seconds=settings.IPBX_STATS_SNAPSHOT_SECONDS,
            recordings_dir=str(settings.IPBX_RECORDINGS_DIR),
            time_zone=settings.TIME_ZONE,
            outbox_dir=str(settings.ICM_OUTBOX_DIR),
            outbox_limit=settings.ICM_OUTBOX_LIMIT,
        )
        start_tracing_from_environment()
        service = IcmService(config)
        service.start()
        settle_collector()
        install_from_environment(service)
        gevent.signal_handler(signal.SIGTERM, service.stop)
        gevent.signal_handler(signal.SIGINT, service.stop)
        log.info(
            "icm %s running (ESL %s:%s)", config.switch.name, config.switch.host, config.switch.port
        )
        service.wait()
