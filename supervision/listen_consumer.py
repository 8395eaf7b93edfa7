"""The live-listen socket (`/ws/listen/<tap>/`, REC-3): streams a tap's audio to the
supervisor who opened it — a JSON `start` frame (rate, channels and their names), then every
0.1 s a JSON `level` frame (each channel's dBFS, seconds streamed) followed by the block's
16-bit PCM as a binary frame, and `ended` when the call (or the tap) ends. Closing the socket
stops the tap on the switch.

Close codes: 4401 not signed in, 4403 not this user's tap, 4404 no such tap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from icm import client as icm
from icm.bus.commands import CommandError, IcmUnavailable
from supervision import listen

log = logging.getLogger(__name__)
UNAUTHORIZED, FORBIDDEN, NOT_FOUND = 4401, 4403, 4404
BLOCK = 0.1  # s between reads of the growing file
APPEAR_WAIT = 5.0  # s for the switch to create the file


class ListenConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHORIZED)
            return
        self.tap_id = str(self.scope["url_route"]["kwargs"]["tap"])
        tap = await asyncio.to_thread(listen.lookup, self.tap_id)
        if tap is None:
            await self.close(code=NOT_FOUND)
            return
        if tap["owner"] != user.pk:
            log.warning("live tap %s: user %s is not its owner", self.tap_id, user.pk)
            await self.close(code=FORBIDDEN)
            return
        self.tap: dict[str, Any] = tap
        self.pump = asyncio.create_task(self._stream(listen.TapReader(Path(tap["path"]))))

    async def disconnect(self, code: int) -> None:
        pump = getattr(self, "pump", None)
        if pump is None:
            return
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        await asyncio.to_thread(self._stop_tap)

    def _stop_tap(self) -> None:
        try:
            icm.live_listen_stop(self.tap["switch"], self.tap_id)
        except (CommandError, IcmUnavailable) as exc:
            log.info("live tap %s: stop: %s", self.tap_id, exc)
        listen.forget(self.tap_id)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data and '"ping"' in text_data:
            await self.send(text_data='{"type": "pong"}')

    async def _stream(self, reader: listen.TapReader) -> None:
        waited = 0.0
        try:
            while not reader.opened:
                reader.read()
                if reader.opened:
                    break
                if waited >= APPEAR_WAIT:
                    await self._send({"type": "ended", "why": "the switch wrote no audio"})
                    await self.close()
                    return
                await asyncio.sleep(BLOCK)
                waited += BLOCK
            await self._send(
                {
                    "type": "start",
                    "rate": reader.rate,
                    "channels": self.tap.get("channels", ["agent", "customer"])[: reader.channels],
                    "agent": self.tap.get("agent", ""),
                    "call_uuid": self.tap.get("call_uuid", ""),
                }
            )
            while True:
                block = reader.read()
                seconds = round(reader.frames / reader.rate, 2)
                if block:
                    await self._send(
                        {
                            "type": "level",
                            "seconds": seconds,
                            "levels": listen.levels(block, reader.channels),
                        }
                    )
                    await self.send(bytes_data=block)
                elif reader.gone():
                    await self._send({"type": "ended", "why": "the call ended", "seconds": seconds})
                    await self.close()
                    return
                await asyncio.sleep(BLOCK)
        except listen.BadTapFile as exc:
            await self._send({"type": "ended", "why": str(exc)})
            await self.close()
        finally:
            reader.close()

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame))
