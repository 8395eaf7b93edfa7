"""The minimal IVR run on each outbound-socket call until the IVR engine lands (ICM-4 stub):
answer, play the greeting, find the queue from the dialled number, hand the call to it, and
keep the socket open while the caller waits (the ACD takes over there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import gevent
from django.db import connection
from greenswitch.esl import NotConnectedError, OutboundSessionHasGoneAway

from icm.domain import events as ev
from icm.routing_lookup import queue_for_dnis

log = logging.getLogger(__name__)

GREETING = "ivr/welcome.wav"


def make_ivr_app(switch: str, notify: Callable[[object], None]) -> type:
    """An application class for greenswitch's OutboundESLServer bound to one switch."""

    class IvrCall:
        def __init__(self, session) -> None:  # noqa: ANN001 - greenswitch OutboundSession
            self.session = session

        def run(self) -> None:
            session = self.session
            data = session.session_data or {}
            uuid = data.get("Unique-ID", "")
            call_uuid = data.get("Channel-Call-UUID") or uuid
            dnis = data.get("Channel-Destination-Number") or data.get(
                "Caller-Destination-Number", ""
            )
            try:
                session.myevents()
                session.linger()
                session.answer()
                session.playback(GREETING, block=True)
                queue = _lookup_queue(dnis)
                session.call_command("set", f"ipbx_queue={queue}")
                notify(ev.CallQueued(switch, call_uuid, queue, datetime.now(tz=UTC)))
                log.info("call %s: dnis %s handed to queue %s", call_uuid, dnis, queue)
                session.call_command("playback", "local_stream://moh")
                while session._outbound_connected and session.connected:
                    gevent.sleep(0.5)
            except (OutboundSessionHasGoneAway, NotConnectedError, gevent.Timeout):
                log.info("call %s: caller left the IVR", call_uuid)
            except Exception:
                log.exception("call %s: IVR failed; hanging up", call_uuid)
                try:
                    session.hangup("NORMAL_TEMPORARY_FAILURE")
                except Exception:  # noqa: S110 - the call is already gone
                    pass

    return IvrCall


def _lookup_queue(dnis: str) -> str:
    # Each greenlet gets its own database connection: close it now, or every caller waiting
    # in a queue would hold one open for the whole call.
    try:
        return queue_for_dnis(dnis)
    finally:
        connection.close()
