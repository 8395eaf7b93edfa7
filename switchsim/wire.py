"""ESL wire encoding: URL-encoding of header values, event serialization, frame building.

Owns byte-exact reproduction of FreeSWITCH's ``switch_event_serialize`` (plain),
``switch_event_serialize_json`` (json) and the reply/notice frames of mod_event_socket.
"""

from __future__ import annotations

import json
import re

# SWITCH_URL_UNSAFE from switch_utils.h plus every byte outside ' '..'~'.
_UNSAFE_CHARS = '\r\n #%&+:;<=>?@[\\]^`{|}"'
_NEEDS_ENCODING = re.compile("[^ -~]|[" + re.escape(_UNSAFE_CHARS) + "]")
_HEX = "0123456789ABCDEF"
_UNSAFE_BYTES = frozenset(_UNSAFE_CHARS.encode())
_CACHE: dict[str, str] = {}
_CACHE_MAX = 200_000

DISCONNECT_MESSAGE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def _encode_slow(value: str) -> str:
    data = value.encode("utf-8", "replace")
    out = []
    n = len(data)
    for i, b in enumerate(data):
        if b == 0x25 and n - 1 - i > 1:  # '%' not double-encoded when followed by 2 hex digits
            nxt, nxt2 = chr(data[i + 1]), chr(data[i + 2])
            if nxt in _HEX and nxt2 in _HEX:
                out.append("%")
                continue
        if b < 0x20 or b > 0x7E or b in _UNSAFE_BYTES:
            out.append("%" + _HEX[b >> 4] + _HEX[b & 0x0F])
        else:
            out.append(chr(b))
    return "".join(out)


def url_encode(value: str) -> str:
    """Encode a header value exactly as FreeSWITCH's switch_url_encode does."""
    cached = _CACHE.get(value)
    if cached is not None:
        return cached
    result = _encode_slow(value) if _NEEDS_ENCODING.search(value) else value
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[value] = result
    return result


def serialize_plain(headers: list[tuple[str, str]], body: str | None = None) -> str:
    """The text of an event as ``switch_event_serialize(event, encode=TRUE)`` produces it."""
    enc = url_encode
    parts = [f"{name}: {enc(value) if value else '_undef_'}\n" for name, value in headers]
    if body:
        parts.append(f"Content-Length: {len(body.encode())}\n\n{body}")
    else:
        parts.append("\n")
    return "".join(parts)


def serialize_json(headers: list[tuple[str, str]], body: str | None = None) -> str:
    """The text of an event as ``switch_event_serialize_json`` produces it."""
    obj = dict(headers)
    if body:
        obj["Content-Length"] = str(len(body.encode()))
        obj["_body"] = body
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def event_frame(payload: str, fmt: str) -> bytes:
    """Wrap a serialized event in the listener envelope (Content-Length + text/event-x)."""
    data = payload.encode()
    return b"Content-Length: %d\nContent-Type: text/event-%s\n\n%s" % (
        len(data),
        fmt.encode(),
        data,
    )


def command_reply(text: str, extra: list[tuple[str, str]] | None = None) -> bytes:
    """A ``command/reply`` frame with ``Reply-Text``."""
    lines = f"Content-Type: command/reply\nReply-Text: {text}\n"
    for name, value in extra or ():
        lines += f"{name}: {value}\n"
    return (lines + "\n").encode()


def api_response(text: str) -> bytes:
    """An ``api/response`` frame; an empty reply becomes ``-ERR no reply``."""
    if not text:
        text = "-ERR no reply\n"
    data = text.encode()
    return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(data), data)


def disconnect_notice(session_uuid: str | None = None, message: str = DISCONNECT_MESSAGE) -> bytes:
    """The final ``text/disconnect-notice`` (with Controlled-Session-UUID in outbound mode)."""
    data = message.encode()
    if session_uuid:
        head = (
            "Content-Type: text/disconnect-notice\n"
            f"Controlled-Session-UUID: {session_uuid}\n"
            "Content-Disposition: disconnect\n"
        )
    else:
        head = "Content-Type: text/disconnect-notice\n"
    return head.encode() + b"Content-Length: %d\n\n%s" % (len(data), data)


def linger_notice(session_uuid: str, channel_name: str, linger_time: int) -> bytes:
    """The ``Content-Disposition: linger`` notice sent when a lingering session hangs up."""
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {session_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    ).encode()
