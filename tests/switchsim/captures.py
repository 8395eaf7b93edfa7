"""Parsing of the real FreeSWITCH transcripts (tests/data/freeswitch-captures)."""

from __future__ import annotations

import difflib
import json
import re
import time
import urllib.parse

from tests.fixtures.captures import CAPTURES  # the repo's copy of the captures
from tests.switchsim.eslraw import Frame, RawESL


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


# -- comparing a switchsim run with a capture, channel by channel ----------------------------
Event = list[tuple[str, str]]


def transcript(name: str) -> list[tuple[str, list[tuple[dict[str, str], str]], list[Event]]]:
    """[(command sent, [(reply headers, body)] of its non-event frames, [events after it])]."""
    out: list[tuple[str, list[tuple[dict[str, str], str]], list[Event]]] = []
    for kind, text in steps(name):
        if kind == "sent":
            out.append((text, [], []))
            continue
        if not out:
            continue
        headers, body = frame_headers(text)
        ctype = headers.get("Content-Type")
        if ctype == "text/event-plain":
            out[-1][2].append(plain_event(body))
        elif ctype == "text/event-json":
            n = int(headers["Content-Length"])
            out[-1][2].append(list(json.loads(body.encode()[:n]).items()))
        else:
            out[-1][1].append((headers, body))
    return out


def label_channels(events: list[Event]) -> dict[str, list[Event]]:
    """Events grouped by channel: keyed ``<Channel-Name>#<n>`` (n-th channel of that name, in
    order of first appearance) so two runs with different uuids line up; events without a
    Unique-ID are keyed by Event-Name (+ subclass)."""
    names: dict[str, str] = {}
    seen: dict[str, int] = {}
    out: dict[str, list[Event]] = {}
    for event in events:
        h = dict(event)
        uuid = h.get("Unique-ID")
        if uuid:
            if uuid not in names:
                # a SIP channel's name ends with the phone's contact (@ip:port): not compared
                cname = re.sub(r"@[^/]*$", "@*", h.get("Channel-Name", "?"))
                seen[cname] = seen.get(cname, 0) + 1
                names[uuid] = f"{cname}#{seen[cname]}"
            key = names[uuid]
        else:
            key = "~" + h.get("Event-Name", "?") + ":" + h.get("Event-Subclass", "")
        out.setdefault(key, []).append(event)
    return out


def event_key(event: Event) -> str:
    h = dict(event)
    name = h.get("Event-Name", "?")
    if name == "CUSTOM":
        return f"CUSTOM {h.get('Event-Subclass', '')}"
    return name


def compare_channels(
    expected: list[Event],
    got: list[Event],
    ignore: dict[str, str] | None = None,
    ignore_re: dict[str, str] | None = None,
) -> list[str]:
    """Differences between two runs, per channel: the event names in order, then per event
    the header names. ``ignore`` (header → reason) and ``ignore_re`` (regex → reason) list
    the known exceptions; an empty list means they match."""
    ignore = ignore or {}
    patterns = [re.compile(p) for p in (ignore_re or {})]

    def keys(event: Event) -> set[str]:
        return {
            k for k, _ in event if k not in ignore and not any(p.fullmatch(k) for p in patterns)
        }

    exp, got_by = label_channels(expected), label_channels(got)
    problems = []
    if sorted(exp) != sorted(got_by):
        problems.append(f"channels: expected {sorted(exp)}, got {sorted(got_by)}")
    for label in exp:
        e_events, g_events = exp[label], got_by.get(label, [])
        e_names = [event_key(e) for e in e_events]
        g_names = [event_key(g) for g in g_events]
        if e_names != g_names:
            diff = difflib.unified_diff(e_names, g_names, "captured", "switchsim", n=1, lineterm="")
            problems.append(f"{label}: events differ\n" + "\n".join(diff))
            continue
        for i, (e, g) in enumerate(zip(e_events, g_events, strict=True)):
            ek, gk = keys(e), keys(g)
            if ek != gk:
                problems.append(
                    f"{label} #{i} {e_names[i]}: missing {sorted(ek - gk)}, extra {sorted(gk - ek)}"
                )
    return problems


def drive(
    esl: RawESL, commands: list[str], quiet: float = 0.3, until: float = 10.0
) -> tuple[list[tuple[str, list[Frame]]], list[Event]]:
    """Send each command as the capture did; after each, read frames until none arrived for
    ``quiet`` s. Returns [(command, its non-event frames)] and every event read (decoded)."""
    replies: list[tuple[str, list[Frame]]] = []
    events: list[Event] = []
    for command in commands:
        esl.send(command)
        frames: list[Frame] = []
        deadline = time.monotonic() + until
        replied = command.split(" ", 1)[0] not in ("api", "bgapi", "exit")
        while time.monotonic() < deadline:
            # an api command (originate) may take a while: wait for its reply, then for quiet
            esl.sock.settimeout(quiet if replied else max(0.05, deadline - time.monotonic()))
            try:
                frame = esl.read_frame()
            except (TimeoutError, ConnectionError):
                break
            if frame.content_type.startswith("text/event"):
                events.append(frame.event())
                if frame.event_dict().get("Event-Name") == "BACKGROUND_JOB":
                    frames.append(frame)
            else:
                frames.append(frame)
                replied = replied or frame.content_type in ("api/response", "command/reply")
        replies.append((command, frames))
    esl.sock.settimeout(5.0)
    return replies, events


def sent(name: str) -> list[str]:
    """The commands a capture sent after ``auth``."""
    return [command for command, _, _ in transcript(name) if not command.startswith("auth ")]


def reply_text(headers: dict[str, str], body: str) -> str:
    """A reply reduced to what must match: api bodies verbatim, command replies' Reply-Text
    with a Job-UUID masked, BACKGROUND_JOB bodies verbatim."""
    ctype = headers.get("Content-Type", "")
    if ctype == "api/response":
        return "api: " + body
    if ctype == "command/reply":
        return "reply: " + re.sub(r"[0-9a-f-]{36}", "<uuid>", headers.get("Reply-Text", ""))
    return ctype


def _job_body(event: Event) -> str | None:
    h = dict(event)
    if h.get("Event-Name") != "BACKGROUND_JOB":
        return None
    return h.get("_body", "")


def expected_replies(name: str) -> list[tuple[str, list[str]]]:
    """[(command, [reply texts, then 'job: <body>' of BACKGROUND_JOBs])] as captured."""
    out = []
    for kind, text in steps(name):
        if kind == "sent":
            if not text.startswith("auth "):
                out.append((text, []))
            continue
        if not out:
            continue
        headers, body = frame_headers(text)
        ctype = headers.get("Content-Type", "")
        if ctype == "text/event-plain":
            head, _, inner = body.partition("\n\n")
            if "\nEvent-Name: BACKGROUND_JOB\n" in "\n" + head + "\n":
                out[-1][1].append("job: " + inner)
        elif ctype == "text/event-json":
            obj = json.loads(body.encode()[: int(headers["Content-Length"])])
            if obj.get("Event-Name") == "BACKGROUND_JOB":
                out[-1][1].append("job: " + obj.get("_body", ""))
        elif ctype in ("api/response", "command/reply"):
            out[-1][1].append(reply_text(headers, body))
    return out


def got_replies(replies: list[tuple[str, list[Frame]]]) -> list[tuple[str, list[str]]]:
    """``drive``'s replies in the shape of :func:`expected_replies`."""
    out = []
    for command, frames in replies:
        texts = []
        for f in frames:
            if f.content_type.startswith("text/event"):
                texts.append("job: " + f.event_body())
            elif f.content_type in ("api/response", "command/reply"):
                texts.append(reply_text(f.headers, f.body))
        out.append((command, texts))
    return out
