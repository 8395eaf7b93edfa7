"""Parsing of the real FreeSWITCH transcripts (tests/data/freeswitch-captures)."""

from __future__ import annotations

import json
import re
import urllib.parse

from tests.fixtures.captures import CAPTURES  # the repo's copy of the captures


def steps(name: str) -> list[tuple[str, str]]:
    """[(kind, text)] with kind 'sent' or 'recv', in transcript order."""
    text = (CAPTURES / name).read_text()
    out: list[tuple[str, str]] = []
    kind = None
    for block in re.split(r"^(<<< RECV|>>> SENT|<<< END)\n", text, flags=re.M):
        if block in ("<<< RECV", ">>> SENT", "<<< END"):
            kind = block
            continue
        if kind == "<<< RECV":
            out.append(("recv", block))
        elif kind == ">>> SENT":
            out.append(("sent", block.rstrip("\n")))
        kind = None
    return out


def frame_headers(block: str) -> tuple[dict[str, str], str]:
    head, _, body = block.partition("\n\n")
    headers = {}
    for line in head.split("\n"):
        k, _, v = line.partition(": ")
        headers[k] = v
    return headers, body


def plain_event(body: str) -> list[tuple[str, str]]:
    head = body.split("\n\n", 1)[0]
    return [
        (k, urllib.parse.unquote(v))
        for k, _, v in (line.partition(": ") for line in head.split("\n"))
        if k
    ]


def script(name: str) -> list[tuple[str, list[list[tuple[str, str]]]]]:
    """[(command sent, [events received after it])] for a plain or json events capture."""
    out: list[tuple[str, list[list[tuple[str, str]]]]] = []
    for kind, text in steps(name):
        if kind == "sent":
            out.append((text, []))
        elif out:
            headers, body = frame_headers(text)
            if headers.get("Content-Type") == "text/event-plain":
                out[-1][1].append(plain_event(body))
            elif headers.get("Content-Type") == "text/event-json":
                n = int(headers["Content-Length"])
                out[-1][1].append(list(json.loads(body.encode()[:n]).items()))
    return out
