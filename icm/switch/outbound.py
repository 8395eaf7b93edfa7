"""icm's outbound-socket server: FreeSWITCH's `socket` dialplan app connects here per IVR call.

greenswitch's OutboundESLServer polls a non-blocking accept and sleeps 100 ms when idle,
adding up to 100 ms to every IVR call's set-up; this subclass blocks on accept (cooperative
under gevent), so a call is taken the moment it connects.
"""

from __future__ import annotations

import logging

import gevent
import gevent.socket
from greenswitch.esl import OutboundESLServer, OutboundSession

log = logging.getLogger(__name__)


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
            session = OutboundSession(client_address, sock)
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
