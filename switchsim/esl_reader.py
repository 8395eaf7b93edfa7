"""Reading client frames from an ESL socket, defensively.

Owns the parsing of what clients send (a command line, optional ``Name: value`` headers,
a blank line, and a body when ``Content-Length`` is given), with limits: lines of at most
64 KiB, at most 256 header lines, bodies of at most 16 MiB. Anything else raises
:class:`ProtocolError` so the connection can be dropped without hurting the server.
"""

from __future__ import annotations

import asyncio

MAX_BODY = 16 * 1024 * 1024
MAX_LINES = 256
LINE_LIMIT = 64 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not an ESL command frame."""


class Command:
    """One client frame: ``line`` (e.g. ``api status``), headers (lower-cased keys), body."""

    __slots__ = ("line", "headers", "body")

    def __init__(self, line: str, headers: dict[str, str], body: str) -> None:
        self.line = line
        self.headers = headers
        self.body = body

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


async def read_command(reader: asyncio.StreamReader) -> Command | None:
    """Read one frame; None on a clean EOF between frames."""
    lines: list[str] = []
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if not lines and not exc.partial.strip():
                return None
            raise ProtocolError("connection closed in the middle of a frame") from exc
        except asyncio.LimitOverrunError as exc:
            raise ProtocolError("line too long") from exc
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            if not lines:
                continue
            break
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ProtocolError("frame is not UTF-8") from exc
        if len(lines) > MAX_LINES:
            raise ProtocolError("too many header lines")
    headers: dict[str, str] = {}
    for extra in lines[1:]:
        name, sep, value = extra.partition(":")
        if not sep:
            raise ProtocolError(f"malformed header line {extra[:60]!r}")
        headers[name.strip().lower()] = value.strip()
    body = ""
    if "content-length" in headers:
        text = headers["content-length"]
        if not text.isdigit():
            raise ProtocolError(f"bad Content-Length {text[:40]!r}")
        length = int(text)
        if length > MAX_BODY:
            raise ProtocolError(f"Content-Length {length} exceeds {MAX_BODY}")
        try:
            data = await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise ProtocolError("connection closed in the middle of a body") from exc
        body = data.decode("utf-8", "replace")
    return Command(lines[0].strip(), headers, body)
