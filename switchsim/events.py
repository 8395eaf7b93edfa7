"""Events: the Event object, FreeSWITCH core headers, sequence numbers and dispatch.

Owns the event bus: every event the simulated switch fires goes through
:meth:`EventBus.fire`, which stamps the core headers (Core-UUID, hostnames, dates,
Event-Sequence …) and hands the event to each subscribed ESL listener. Serialization is
done lazily once per format and shared by all listeners.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Protocol

from switchsim.wire import event_frame, serialize_json, serialize_plain

log = logging.getLogger(__name__)

# The event names FreeSWITCH knows (switch_event.c EVENT_NAMES), used to validate `event …`.
EVENT_NAMES = frozenset(
    """CUSTOM CLONE CHANNEL_CREATE CHANNEL_DESTROY CHANNEL_STATE CHANNEL_CALLSTATE CHANNEL_ANSWER
    CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HOLD
    CHANNEL_UNHOLD CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA
    CHANNEL_OUTGOING CHANNEL_PARK CHANNEL_UNPARK CHANNEL_APPLICATION CHANNEL_ORIGINATE
    CHANNEL_UUID API LOG INBOUND_CHAN OUTBOUND_CHAN STARTUP SHUTDOWN PUBLISH UNPUBLISH TALK
    NOTALK SESSION_CRASH MODULE_LOAD MODULE_UNLOAD DTMF MESSAGE PRESENCE_IN NOTIFY_IN
    PRESENCE_OUT PRESENCE_PROBE MESSAGE_WAITING MESSAGE_QUERY ROSTER CODEC BACKGROUND_JOB
    DETECTED_SPEECH DETECTED_TONE PRIVATE_COMMAND HEARTBEAT TRAP ADD_SCHEDULE DEL_SCHEDULE
    EXE_SCHEDULE RE_SCHEDULE RELOADXML NOTIFY PHONE_FEATURE PHONE_FEATURE_SUBSCRIBE SEND_MESSAGE
    RECV_MESSAGE REQUEST_PARAMS CHANNEL_DATA GENERAL COMMAND SESSION_HEARTBEAT
    CLIENT_DISCONNECTED SERVER_DISCONNECTED SEND_INFO RECV_INFO RECV_RTCP_MESSAGE
    SEND_RTCP_MESSAGE CALL_SECURE NAT RECORD_START RECORD_STOP PLAYBACK_START PLAYBACK_STOP
    CALL_UPDATE FAILURE SOCKET_DATA MEDIA_BUG_START MEDIA_BUG_STOP CONFERENCE_DATA_QUERY
    CONFERENCE_DATA CALL_SETUP_REQ CALL_SETUP_RESULT CALL_DETAIL DEVICE_STATE TEXT
    SHUTDOWN_REQUESTED ALL""".split()
)


class Event:
    """One event: ordered (name, value) headers plus an optional body."""

    __slots__ = ("name", "subclass", "headers", "body", "_plain", "_json", "_index", "_route")

    def __init__(
        self,
        name: str,
        headers: list[tuple[str, str]],
        body: str | None = None,
        subclass: str | None = None,
    ) -> None:
        self.name = name
        self.subclass = subclass
        self.headers = headers
        self.body = body
        self._plain: bytes | None = None
        self._json: bytes | None = None
        self._index: dict[str, str] | None = None
        self._route: tuple[str | None, str | None] | None = None

    def get(self, header: str) -> str | None:
        """Case-insensitive header lookup (first occurrence), like switch_event_get_header."""
        if self._index is None:
            idx: dict[str, str] = {}
            for k, v in self.headers:
                idx.setdefault(k.lower(), v)
            self._index = idx
        return self._index.get(header.lower())

    def route_ids(self) -> tuple[str | None, str | None]:
        """``(get("Unique-ID"), get("Job-Owner-UUID"))`` — what ``myevents`` listeners are
        matched on — found in one pass without building the full header index."""
        route = self._route
        if route is not None:
            return route
        if self._index is not None:
            route = (self._index.get("unique-id"), self._index.get("job-owner-uuid"))
        else:
            uid = owner = None
            for k, v in self.headers:
                n = len(k)
                if n == 9:
                    if uid is None and k.lower() == "unique-id":
                        uid = v
                elif n == 14 and owner is None and k.lower() == "job-owner-uuid":
                    owner = v
            route = (uid, owner)
        self._route = route
        return route

    def frame(self, fmt: str) -> bytes:
        """The complete listener frame for this event in ``plain`` or ``json`` format."""
        if fmt == "json":
            if self._json is None:
                self._json = event_frame(serialize_json(self.headers, self.body), "json")
            return self._json
        if self._plain is None:
            self._plain = event_frame(serialize_plain(self.headers, self.body), "plain")
        return self._plain


class Subscriber(Protocol):
    def offer(self, event: Event) -> None: ...


_NO_SUBSCRIBERS: tuple[Subscriber, ...] = ()


class EventBus:
    """Stamps core headers on events and delivers them to subscribers."""

    def __init__(self, hostname: str, ipv4: str, ipv6: str) -> None:
        self.core_uuid = str(uuidlib.uuid4())
        self.hostname = hostname
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.sequence = 0
        self.emitted = 0
        # Listeners that may want any event, in subscription order, and ``myevents``
        # listeners indexed by their session's uuid: a myevents listener only takes events
        # whose Unique-ID or Job-Owner-UUID is that uuid, so it is offered only those (with
        # thousands of outbound sessions, offering every event to every one is quadratic).
        self._general: dict[Subscriber, None] = {}
        self._by_uuid: dict[str, dict[Subscriber, None]] = {}
        self._narrowed: dict[Subscriber, str] = {}
        self.hooks: list[Callable[[Event], None]] = []
        self._date_sec = -1
        self._date_local = ""
        self._date_gmt = ""

    def _dates(self, now_us: int) -> tuple[str, str]:
        sec = now_us // 1_000_000
        if sec != self._date_sec:
            self._date_sec = sec
            self._date_local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(sec))
            self._date_gmt = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(sec))
        return self._date_local, self._date_gmt

    def core_headers(
        self, name: str, where: tuple[str, str, int], subclass: str | None = None
    ) -> list[tuple[str, str]]:
        """The headers FreeSWITCH puts at the top of every event."""
        now_us = time.time_ns() // 1000
        local, gmt = self._dates(now_us)
        self.sequence += 1
        headers = [("Event-Subclass", subclass)] if subclass else []
        headers += [
            ("Event-Name", name),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.hostname),
            ("FreeSWITCH-Switchname", self.hostname),
            ("FreeSWITCH-IPv4", self.ipv4),
            ("FreeSWITCH-IPv6", self.ipv6),
            ("Event-Date-Local", local),
            ("Event-Date-GMT", gmt),
            ("Event-Date-Timestamp", str(now_us)),
            ("Event-Calling-File", where[0]),
            ("Event-Calling-Function", where[1]),
            ("Event-Calling-Line-Number", str(where[2])),
            ("Event-Sequence", str(self.sequence)),
        ]
        return headers

    def make(
        self,
        name: str,
        where: tuple[str, str, int],
        headers: list[tuple[str, str]] | None = None,
        body: str | None = None,
        subclass: str | None = None,
    ) -> Event:
        """Build (but do not fire) an event with core headers followed by ``headers``."""
        all_headers = self.core_headers(name, where, subclass)
        if headers:
            all_headers.extend(headers)
        return Event(name, all_headers, body, subclass)

    # -- subscriptions -----------------------------------------------------------------
    def subscribe(self, sub: Subscriber) -> None:
        """Offer ``sub`` every event from now on (until :meth:`narrow`/:meth:`unsubscribe`)."""
        if sub not in self._narrowed:
            self._general[sub] = None

    def narrow(self, sub: Subscriber, uuid: str) -> None:
        """From now on offer ``sub`` only the events whose Unique-ID or Job-Owner-UUID is
        ``uuid`` (it has turned on ``myevents`` for that session and filters on it)."""
        if sub not in self._general and sub not in self._narrowed:
            return  # not subscribed (e.g. already gone)
        self._general.pop(sub, None)
        self._remove_narrowed(sub)
        self._narrowed[sub] = uuid
        self._by_uuid.setdefault(uuid, {})[sub] = None

    def unsubscribe(self, sub: Subscriber) -> None:
        self._general.pop(sub, None)
        self._remove_narrowed(sub)

    def _remove_narrowed(self, sub: Subscriber) -> None:
        uuid = self._narrowed.pop(sub, None)
        if uuid is not None:
            subs = self._by_uuid.get(uuid)
            if subs is not None:
                subs.pop(sub, None)
                if not subs:
                    del self._by_uuid[uuid]

    @property
    def subscribers(self) -> list[Subscriber]:
        """Every subscribed listener (a copy)."""
        return [*self._general, *self._narrowed]

    def _targets(self, event: Event) -> tuple[Subscriber, ...]:
        targets = tuple(self._general)
        if self._by_uuid:
            uid, owner = event.route_ids()
            by_uuid = self._by_uuid
            if uid is not None and uid in by_uuid:
                targets += tuple(by_uuid[uid])
            if owner is not None and owner != uid and owner in by_uuid:
                targets += tuple(by_uuid[owner])
        return targets or _NO_SUBSCRIBERS

    def fire(self, event: Event) -> None:
        """Deliver an event to every subscriber that may want it (synchronously queues bytes)."""
        self.emitted += 1
        for hook in self.hooks:
            hook(event)
        for sub in self._targets(event):
            try:
                sub.offer(event)
            except Exception:  # a broken listener must not break the switch
                log.exception("event delivery to %r failed", sub)

    def emit(
        self,
        name: str,
        where: tuple[str, str, int],
        headers: list[tuple[str, str]] | None = None,
        body: str | None = None,
        subclass: str | None = None,
    ) -> Event:
        """Build and fire an event."""
        event = self.make(name, where, headers, body, subclass)
        self.fire(event)
        return event
