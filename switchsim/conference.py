"""mod_conference's rooms: the ``conference`` application, members and their events.

Owns the room model (who is in which room, member flags, the floor), the ``conference``
dialplan application (``NAME[@PROFILE][+flags{a|b}]``) and the CUSTOM
``conference::maintenance`` events with mod_conference's headers (conference_event_add_data,
conference_member_add_event_data): conference-create, add-member, floor-change, del-member,
conference-destroy. The ``conference`` api command is in :mod:`switchsim.conference_api`.

As in mod_conference: member ids come from one counter for the whole switch (a channel keeps
its id when it joins again), rooms are dynamic (created by the first member, destroyed when
the last one leaves), ``mintwo``/``endconf`` end a room and hang up whoever is left
(unless ``hangup_after_conference=false``), and a member leaves when its channel hangs up,
is kicked (``conference NAME kick``) or hupped (``conference NAME hup``: it just leaves and
goes on with its dialplan) or is pulled away (uuid_bridge, uuid_transfer, uuid_park).
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from dataclasses import dataclass, field

from switchsim import media
from switchsim.channel import Channel, falsy
from switchsim.session import wait_until
from switchsim.switch import Switch

log = logging.getLogger(__name__)
SUBCLASS = "conference::maintenance"
W_CREATE = ("mod_conference.c", "conference_new", 3848)
W_DESTROY = ("mod_conference.c", "conference_thread_run", 863)
W_ADD = ("conference_member.c", "conference_member_add", 962)
W_FLOOR = ("conference_member.c", "conference_member_set_floor_holder", 1158)
W_DEL = ("conference_member.c", "conference_member_del", 1355)


@dataclass(frozen=True)
class Profile:
    """The conference.conf.xml profile parameters switchsim acts on."""

    name: str
    domain: str  # "" = the switch's global ${domain}
    rate: int = 8000
    energy_level: int = 100
    kicked_sound: str = ""


# vanilla FreeSWITCH's "default" profile and the project's "ipbx" one
# (freeswitch_conf/autoload_configs/conference.conf.xml); any other name gets
# mod_conference's compiled-in defaults, as a profile missing from the XML does.
PROFILES = {
    "default": Profile("default", "", kicked_sound="conference/conf-kicked.wav"),
    "ipbx": Profile("ipbx", ""),
}


def profile_named(name: str) -> Profile:
    return PROFILES.get(name) or Profile(name, "cluecon.com", energy_level=0)


def tf(value: bool) -> str:
    return "true" if value else "false"


@dataclass(eq=False)
class Member:
    id: int
    ch: Channel
    hear: bool = True
    speak: bool = True
    moderator: bool = False
    ghost: bool = False
    endconf: bool = False
    mute_detect: bool = False
    energy_level: int = 100
    running: bool = True
    kicked: bool = False
    kicked_sound: str = ""


@dataclass(eq=False)
class Room:
    """One conference (conference_obj_t)."""

    name: str
    profile: Profile
    domain: str
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    members: list[Member] = field(default_factory=list)  # newest first, as mod_conference
    count: int = 0
    ghosts: int = 0
    min: int = 1
    answered: bool = False
    enforce_min: bool = False
    floor: int = 0
    destruct: bool = False
    destroyed: bool = False
    bridge_hangup_cause: str = ""

    # -- events ------------------------------------------------------------------------
    def headers(self) -> list[tuple[str, str]]:
        """conference_event_add_data."""
        return [
            ("Conference-Name", self.name),
            ("Conference-Domain", self.domain),
            ("Conference-Size", str(self.count)),
            ("Conference-Ghosts", str(self.ghosts)),
            ("Conference-Profile-Name", self.profile.name),
            ("Conference-Unique-ID", self.uuid),
        ]

    def member_headers(self, m: Member) -> list[tuple[str, str]]:
        """conference_member_add_event_data (no verbose-events: basic channel data)."""
        h = [*self.headers(), ("Floor", tf(m.id == self.floor))]
        h += m.ch.data_headers(with_vars=False)
        h += [
            ("Video", "false"),
            ("Hear", tf(m.hear)),
            ("See", "true"),
            ("Speak", tf(m.speak)),
            ("Talking", "false"),
            ("Mute-Detect", tf(m.mute_detect)),
            ("Hold", "false"),
            ("Member-ID", str(m.id)),
            ("Member-Type", "moderator" if m.moderator else "member"),
            ("Member-Ghost", tf(m.ghost)),
            ("Energy-Level", str(m.energy_level)),
            ("Current-Energy", "0"),
        ]
        return h

    def emit(self, sw: Switch, action: str, where: tuple[str, str, int], m: Member | None) -> None:
        headers = self.member_headers(m) if m is not None else self.headers()
        sw.bus.emit("CUSTOM", where, [*headers, ("Action", action)], subclass=SUBCLASS)

    def set_floor(self, sw: Switch, m: Member | None) -> None:
        """conference_member_set_floor_holder and its floor-change event."""
        old = self.floor
        self.floor = m.id if m is not None else 0
        headers = [*self.headers(), ("Action", "floor-change"), ("Old-ID", str(old or "none"))]
        if m is not None:
            headers += [*self.member_headers(m), ("New-ID", str(m.id))]
        else:
            headers.append(("New-ID", "none"))
        sw.bus.emit("CUSTOM", W_FLOOR, headers, subclass=SUBCLASS)

    def take_floor(self, sw: Switch) -> None:
        """The conference thread gives a free floor to the first running member."""
        if not self.floor:
            holder = next((m for m in self.members if m.running), None)
            if holder is not None:
                self.set_floor(sw, holder)

    # -- membership --------------------------------------------------------------------
    def heard_by(self, m: Member) -> list[Member]:
        """The members whose audio the room mixes for ``m``: every other member that may
        speak, if ``m`` may hear (no echo of its own voice); by member id."""
        if not m.hear:
            return []
        return sorted((o for o in self.members if o is not m and o.speak), key=lambda o: o.id)

    def member(self, member_id: int) -> Member | None:
        return next((m for m in self.members if m.id == member_id), None)

    def join(self, sw: Switch, ch: Channel, flags: set[str], member_id: int) -> Member:
        """conference_member_add: count, channel variables, add-member, the floor."""
        m = Member(member_id, ch, energy_level=self.profile.energy_level)
        m.speak = "mute" not in flags
        m.hear = "deaf" not in flags
        m.moderator = "moderator" in flags
        m.ghost = "ghost" in flags
        m.endconf = "endconf" in flags
        m.mute_detect = "mute-detect" in flags
        if "mintwo" in flags:
            self.min = 2
        if m.ghost:
            self.ghosts += 1
        else:
            self.count += 1
        ch.vars["conference_member_id"] = str(m.id)
        ch.vars["conference_moderator"] = tf(m.moderator)
        ch.vars["conference_ghost"] = tf(m.ghost)
        ch.vars["conference_uuid"] = self.uuid
        ch.vars.setdefault(
            "conference_call_key",
            f"conference_{self.name}_{self.domain}_{ch.profile.caller_id_number}",
        )
        if self.min and self.count >= self.min:
            self.enforce_min = True
        self.emit(sw, "add-member", W_ADD, m)
        self.members.insert(0, m)
        self.take_floor(sw)
        log.info("conference %s: member %s joined (%s)", self.name, m.id, ch.uuid)
        return m

    def leave(self, sw: Switch, conferences: Conferences, m: Member) -> None:
        """conference_member_del: floor, count, del-member; the room ends when due."""
        m.running = False
        if m not in self.members:
            return
        ch = m.ch
        if self.floor == m.id:
            self.set_floor(sw, None)
        self.members.remove(m)
        if m.ghost:
            self.ghosts -= 1
        else:
            self.count -= 1
        ch.vars.pop("conference_call_key", None)
        if ch.direction == "outbound" and ch.hangup_cause:
            self.bridge_hangup_cause = ch.hangup_cause
        total = self.count + self.ghosts
        if m.endconf or total == 0 or (self.enforce_min and total < self.min):
            self.destruct = True
        self.emit(sw, "del-member", W_DEL, m)
        log.info("conference %s: member %s left (%s)", self.name, m.id, ch.uuid)
        if self.destruct:
            self.end(sw, conferences)
        else:
            self.take_floor(sw)

    def end(self, sw: Switch, conferences: Conferences) -> None:
        """The conference thread's ending: hang up who is left, then conference-destroy
        once everybody is out."""
        for m in list(self.members):
            if m.running and not falsy(m.ch.vars.get("hangup_after_conference")):
                cause = "NORMAL_CLEARING" if self.answered else self.bridge_hangup_cause
                sw.hangup(m.ch, cause or "NORMAL_CLEARING")
            m.running = False
            m.ch.wake_up()
        if not self.members and not self.destroyed:
            self.destroyed = True
            if conferences.rooms.get(self.name) is self:
                del conferences.rooms[self.name]
            self.emit(sw, "conference-destroy", W_DESTROY, None)
            log.info("conference %s destroyed", self.name)

    def flags_text(self) -> str:
        """The ``flags:`` part of ``conference list`` (conference_api_sub_list)."""
        flags = ["running"]
        if self.answered:
            flags.append("answered")
        if self.enforce_min:
            flags.append("enforce_min")
        flags += ["dynamic", "exit_sound", "enter_sound"]
        return "|".join(flags)


class Conferences:
    """Every room of one switch, and mod_conference's member id counter."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.last_member_id = 0

    def next_member_id(self) -> int:
        self.last_member_id += 1
        return self.last_member_id

    def create(self, sw: Switch, name: str, profile_name: str) -> Room:
        """conference_new: a dynamic room and its conference-create event."""
        profile = profile_named(profile_name)
        if "@" in name:
            domain = name.split("@", 1)[1]
        else:
            domain = profile.domain or sw.globals.get("domain", "") or "cluecon.com"
        room = Room(name, profile, domain)
        self.rooms[name] = room
        room.emit(sw, "conference-create", W_CREATE, None)
        log.info("conference %s created (profile %s)", name, profile.name)
        return room


def conferences(sw: Switch) -> Conferences:
    if sw.conferences is None:
        sw.conferences = Conferences()
    return sw.conferences


@dataclass
class JoinSpec:
    name: str
    profile: str
    flags: set[str]


def parse_join(arg: str, ch: Channel) -> JoinSpec | None:
    """``NAME[@PROFILE][+PIN][+flags{a|b}]`` plus ``conference_member_flags``."""
    text, flags_text = arg, ""
    if "+flags{" in text:
        text, _, flags_text = text.partition("+flags{")
        flags_text = flags_text.split("}", 1)[0]
    extra = ch.vars.get("conference_member_flags", "")
    flags = {f.strip().lower() for f in f"{flags_text}|{extra}".replace(",", "|").split("|")}
    flags.discard("")
    name = text.strip().split("+", 1)[0]  # a +PIN is not simulated
    name, at, profile = name.rpartition("@")
    if not at:
        name, profile = profile, "default"
    if not name or name.startswith("bridge:"):
        return None
    return JoinSpec(name, profile or "default", flags)


async def app_conference(sw: Switch, ch: Channel, arg: str) -> str | None:
    """conference_function: join the room, stay until hung up, kicked or pulled away."""
    spec = parse_join(arg, ch)
    if spec is None:
        log.error("%s: conference %r: invalid arguments", ch.uuid, arg)
        return None
    if not ch.is_up:
        return None
    sw.pre_answer(ch)
    confs = conferences(sw)
    room = confs.rooms.get(spec.name)
    if room is None:
        room = confs.create(sw, spec.name, spec.profile)
    ch.vars["conference_name"] = room.name
    sw.answer(ch)
    if ch.direction == "inbound":
        room.answered = True
    if not ch.conference_member_id:
        ch.conference_member_id = confs.next_member_id()
    m = room.join(sw, ch, spec.flags, ch.conference_member_id)
    try:
        await wait_until(ch, lambda: not m.running, None)
    finally:
        room.leave(sw, confs, m)
    sound = m.kicked_sound or room.profile.kicked_sound
    if m.kicked and sound and ch.is_up and not ch.pending_hangup:
        await media.play(sw, ch, sound)
    return None
