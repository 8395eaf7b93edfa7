"""icm's outbound-socket server: FreeSWITCH's `socket` dialplan app connects here per IVR call.

greenswitch's OutboundESLServer polls a non-blocking accept and sleeps 100 ms when idle,
adding up to 100 ms to every IVR call's set-up; this subclass blocks on accept (cooperative
under gevent), so a call is taken the moment it connects. Sessions subscribe with
`myevents json` and decode with `json.loads`: greenswitch's plain-event parser (`unquote`
over every frame) cost ~4 ms of CPU per IVR call.
"""

from __future__ import annotations

import json
import logging

import gevent
import gevent.socket
from greenswitch.esl import OutboundESLServer, OutboundSession

from .connection import MalformedFrame, content_length

log = logging.getLogger(__name__)


class IcmOutboundSession(OutboundSession):
    """OutboundSession receiving its channel's events as JSON."""

    def myevents(self) -> None:
        self.send("myevents json")

    def handle_event(self, event) -> None:  # noqa: ANN001 - greenswitch ESLEvent
        if event.headers.get("Content-Type") == "text/event-json":
            body = self._read_socket(self.sock_file, content_length(event.headers))
            try:
                event.headers = json.loads(body)
            except ValueError as exc:
                raise MalformedFrame(f"bad json event: {exc}") from exc
            self._esl_event_queue.put(event)
            return
        super().handle_event(event)


class OutboundServer(OutboundESLServer):
    """OutboundESLServer with a blocking accept loop and a clean stop."""

    def listen(self) -> None:
        self.server = gevent.socket.socket()
        self.server.setsockopt(gevent.socket.SOL_SOCKET, gevent.socket.SO_REUSEADDR, 1)
        self.server.bind((self.bind_address, self.bind_port[0]))
        self.bound_port = self.server.getsockname()[1]
        self.server.listen(128)
        self._running = True
        log.info("outbound socket server listening on %s:%s", self.bind_address, self.bound_port)
        while self._running:
            try:
                sock, client_address = self.server.accept()
            except OSError:
                if not self._running:
                    break
                log.exception("outbound socket accept failed")
                gevent.sleep(0.1)
                continue
            session = IcmOutboundSession(client_address, sock)
            gevent.spawn(self._accept_call_safely, session)

    def _accept_call_safely(self, session: OutboundSession) -> None:
        try:
            self._accept_call(session)
        except Exception:
            log.exception("outbound session from %s failed to start", session.sock)
            try:
                session.stop()
            except Exception:  # noqa: S110 - the socket is already gone
                pass

    def stop(self) -> None:
        self._running = False
        if self.server is not None:
            self.server.close()
