"""Phone registrations on a switch (ICM-1): the events a switch reports about its SIP users
and the pure tracker of which extensions can be rung.

An extension is registered while it has a live registration. As sofia's profiles do by
default (and freeswitch_conf's do), a user has one registration: a REGISTER replaces it
whatever its call ID, an un-REGISTER ends it; with `multiple=True` (a profile with
`multiple-registrations`) each call ID is a device of its own. The switch's events and its
snapshot (asked on every (re)connect) are applied in the order they arrive on the event
stream: the snapshot was taken after every event that reached us before it, so it replaces
what they said; an event after it is newer news. A snapshot row whose expiry has already
passed is a registration the switch is expiring right now (its `expire` event may have come
first): it does not count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PhoneRegistered:
    """A REGISTER accepted (a new registration or a refresh)."""

    switch: str
    user: str
    domain: str
    call_id: str
    contact: str
    network_ip: str
    user_agent: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PhoneUnregistered:
    """A registration ended: the phone said so (`unregistered`) or it was not refreshed in
    time (`expired`)."""

    switch: str
    user: str
    domain: str
    call_id: str
    why: str  # unregistered | expired
    at: datetime


@dataclass(frozen=True, slots=True)
class RegistrationRow:
    user: str
    domain: str
    call_id: str
    contact: str
    network_ip: str
    expires: float  # epoch seconds (0: never)


@dataclass(frozen=True, slots=True)
class RegistrationsSnapshot:
    """Every registration the switch holds, asked on (re)connect."""

    switch: str
    rows: tuple[RegistrationRow, ...]
    at: datetime


RegistrationEvent = PhoneRegistered | PhoneUnregistered | RegistrationsSnapshot


@dataclass(frozen=True, slots=True)
class PhoneState:
    """What icm knows of one extension's phone."""

    user: str
    registered: bool
    since: float  # epoch seconds of the last change
    contact: str = ""
    network_ip: str = ""
    user_agent: str = ""
    why: str = ""  # why not registered: unregistered | expired | absent (not in the snapshot)


class Registrations:
    """Which extensions of one switch are registered; every `apply` returns the extensions
    whose registered / not registered answer changed."""

    def __init__(self, multiple: bool = False) -> None:
        self.multiple = multiple
        self._live: dict[str, dict[str, RegistrationRow]] = {}  # user -> call ID -> row
        self.phones: dict[str, PhoneState] = {}
        self.synced = False  # a snapshot was applied: an absent extension is not registered

    def registered(self, user: str) -> bool | None:
        """True / False, or None when nothing is known yet (before the first snapshot)."""
        phone = self.phones.get(user)
        if phone is not None:
            return phone.registered
        return False if self.synced else None

    def apply(self, event: RegistrationEvent) -> set[str]:
        if isinstance(event, PhoneRegistered):
            row = RegistrationRow(
                event.user, event.domain, event.call_id, event.contact, event.network_ip, 0
            )
            if not self.multiple:
                self._live.pop(event.user, None)  # the switch replaced the old one
            self._live.setdefault(event.user, {})[event.call_id] = row
            return self._settle([event.user], event.at.timestamp(), "", event.user_agent)
        if isinstance(event, PhoneUnregistered):
            rows = self._live.get(event.user, {})
            if self.multiple or event.why == "expired":  # an expiry names the row it ends
                rows.pop(event.call_id, None)
            else:  # sofia deletes the user's registration, whatever the un-REGISTER's call ID
                rows.clear()
            return self._settle([event.user], event.at.timestamp(), event.why)
        return self._resync(event.rows, event.at.timestamp())

    def _resync(self, rows: Iterable[RegistrationRow], now: float) -> set[str]:
        before = set(self._live)
        self._live = {}
        for row in rows:
            if row.expires and row.expires <= now:
                continue  # being expired as the switch answered
            self._live.setdefault(row.user, {})[row.call_id] = row
        self.synced = True
        return self._settle(before | set(self._live) | set(self.phones), now, "absent")

    def _settle(self, users: Iterable[str], now: float, why: str, agent: str = "") -> set[str]:
        changed: set[str] = set()
        for user in users:
            rows = self._live.get(user)
            if not rows:
                self._live.pop(user, None)
            old = self.phones.get(user)
            if rows:
                row = next(reversed(rows.values()))  # the latest registration
                state = PhoneState(
                    user,
                    True,
                    old.since if old and old.registered else now,
                    row.contact,
                    row.network_ip,
                    agent or (old.user_agent if old else ""),
                )
            elif old is not None and not old.registered:
                state = old  # still not registered: since when and why are kept
            else:
                state = PhoneState(user, False, now, why=why)
            if old is None or old.registered != state.registered:
                changed.add(user)
            self.phones[user] = state
        return changed
