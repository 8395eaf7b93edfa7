"""The minimal IVR run on each outbound-socket call until the IVR engine lands (ICM-4 stub):
answer, play the greeting, find the queue from the dialled number, hand the call to it, and
keep the socket open while the caller waits (the ACD takes over there).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import gevent
import gevent.event
import gevent.queue
from django.db import connection
from greenswitch.esl import NotConnectedError, OutboundSessionHasGoneAway

from icm.acd_runtime import ContactArrived
from icm.domain import events as ev
from icm.domain.acd.model import Contact
from icm.routing_lookup import (
    GRADE_PRIORITY,
    customer_priority,
    greeting_for,
    last_agent_for,
    queue_for_call,
)

log = logging.getLogger(__name__)

GREETING = "ivr/welcome.wav"


QueueStatus = Callable[[str], "tuple[int, float, float] | None"]


CALLBACK_KEY = "1"


def make_ivr_app(
    switch: str,
    notify: Callable[[object], None],
    queue_status: QueueStatus | None = None,
    request_callback: Callable[[str], bool] | None = None,
) -> type:
    """An application class for greenswitch's OutboundESLServer bound to one switch.

    `queue_status(contact_id)` gives (position, expected wait s, announce every s) while the
    caller waits unoffered, else None (R-9 announcements).
    """

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
            ani = data.get("Channel-Caller-ID-Number") or data.get("Caller-Caller-ID-Number", "")
            try:
                session.myevents()
                session.linger()
                session.answer()
                session.playback(GREETING, block=True)
                routing = _lookup_routing(dnis, ani)
                queue, customer, priority = routing.queue, routing.customer, routing.priority
                if routing.greeting:  # per-category greeting
                    log.info("call %s: greeting %s", call_uuid, routing.greeting)
                    session.playback(routing.greeting, block=True)
                session.call_command("set", f"ipbx_queue={queue}")
                notify(ev.CallQueued(switch, call_uuid, queue, datetime.now(tz=UTC)))
                notify(
                    ContactArrived(
                        Contact(
                            contact_id=uuid,
                            queue=queue,
                            enqueued_at=time.time(),
                            priority=priority,
                            ani=ani,
                            customer_id=customer,
                            last_agent_id=routing.last_agent,
                            attached={"dnis": dnis, "call_uuid": call_uuid},
                        )
                    )
                )
                log.info("call %s: dnis %s handed to queue %s (priority %s)", call_uuid, dnis,
                         queue, priority)  # fmt: skip
                session.call_command("playback", "local_stream://moh")
                pressed: list[str] = []
                session.register_handle(
                    "DTMF", lambda event: pressed.append(event.headers.get("DTMF-Digit", ""))
                )
                last_announcement = time.monotonic()
                while session._outbound_connected and session.connected:
                    gevent.sleep(0.2)
                    if CALLBACK_KEY in pressed and request_callback is not None:
                        pressed.clear()
                        if request_callback(uuid):
                            _callback_goodbye(session, call_uuid, ani)
                            break
                    status = queue_status(uuid) if queue_status else None
                    if status and status[2] and time.monotonic() - last_announcement >= status[2]:
                        last_announcement = time.monotonic()
                        _announce(session, call_uuid, *status[:2])
            except (OutboundSessionHasGoneAway, NotConnectedError, gevent.Timeout):
                log.info("call %s: caller left the IVR", call_uuid)
            except Exception:
                log.exception("call %s: IVR failed; hanging up", call_uuid)
                try:
                    session.hangup("NORMAL_TEMPORARY_FAILURE")
                except Exception:  # noqa: S110 - the call is already gone
                    pass

    return IvrCall


def _callback_goodbye(session, call_uuid: str, number: str) -> None:  # noqa: ANN001
    """The caller keeps its place and will be called back: say so, then hang up."""
    log.info("call %s: call-back requested to %s; the place in the queue is kept", call_uuid,
             number)  # fmt: skip
    spoken = " ".join(number)
    session.call_command("speak", f"flite|kal|We will call you back at {spoken}. Goodbye.",
                         block=True, response_timeout=15)  # fmt: skip
    session.hangup("NORMAL_CLEARING")


def _announce(session, call_uuid: str, position: int, expected_wait: float) -> None:  # noqa: ANN001
    """Tell a waiting caller its place and expected wait, then back to music (R-9)."""
    if expected_wait == float("inf"):
        wait_text = "All our agents are busy."
    else:
        minutes = max(1, round(expected_wait / 60))
        wait_text = f"Your expected wait is about {minutes} minute{'s' if minutes > 1 else ''}."
    session.call_command("speak", f"flite|kal|You are number {position} in the queue. {wait_text}")
    session.call_command("playback", "local_stream://moh")
    log.info("call %s: announced position %s, expected wait %.0fs", call_uuid, position,
             expected_wait if expected_wait != float("inf") else -1)  # fmt: skip


def _lookup_routing(dnis: str, ani: str) -> Routing:
    """Queue, customer, priority, last agent and greeting for a call (R-3, R-4, R-8, R-9)."""
    return _lookups.run(_routing_query, dnis, ani)


def _routing_query(dnis: str, ani: str) -> Routing:
    queue, _ = queue_for_call(dnis, ani)
    customer, priority = customer_priority(ani)
    grade = next((g for g, p in GRADE_PRIORITY.items() if p == priority), "standard")
    return Routing(queue, customer, priority, last_agent_for(ani), greeting_for(queue, grade))


@dataclass(frozen=True, slots=True)
class Routing:
    queue: str
    customer: str
    priority: int
    last_agent: str
    greeting: str


class _DbWorker:
    """Runs database look-ups for every IVR greenlet in a few worker greenlets, each on one
    long-lived connection.

    Django gives each greenlet its own connection: a connection per call would mean a new
    PostgreSQL session per caller (slow) or one held open per waiting caller (exhausting).
    Several workers, because a call makes a few look-ups and one worker in turn caps the
    call rate.
    """

    WORKERS = 4

    def __init__(self) -> None:
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._workers: list[gevent.Greenlet] = []

    def run(self, func, *args):  # noqa: ANN001, ANN002, ANN201
        self._workers = [w for w in self._workers if not w.dead]
        while len(self._workers) < self.WORKERS:
            self._workers.append(gevent.spawn(self._serve))
        result = gevent.event.AsyncResult()
        self._queue.put((func, args, result))
        return result.get(timeout=10)

    def _serve(self) -> None:
        while True:
            func, args, result = self._queue.get()
            try:
                result.set(func(*args))
            except Exception as exc:  # handed to the caller
                connection.close()
                result.set_exception(exc)


_lookups = _DbWorker()
