"""The simulated world around the switch: SIP registrations, agent phones and callers.

Owns registrations (``sofia::register`` / ``sofia::unregister`` / ``sofia::expire`` events,
``show registrations``), how an agent phone reacts when a ``user/<ext>`` leg rings it
(auto-answer after a delay, ring out, busy), and how a simulated caller on an inbound trunk
call behaves (DTMF answers to menus, patience before abandoning, talk time once bridged).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import uuid as uuidlib
from dataclasses import dataclass, field

from switchsim.channel import Channel, Profile
from switchsim.session import start_inbound
from switchsim.switch import Switch

log = logging.getLogger(__name__)
W_REGISTER = ("sofia_reg.c", "sofia_reg_handle_register_token", 2059)
W_PRE_REGISTER = ("sofia_reg.c", "sofia_reg_handle_register_token", 1213)
W_ATTEMPT = ("sofia_reg.c", "sofia_reg_handle_register_token", 1520)
W_PRESENCE = ("sofia_reg.c", "sofia_reg_handle_register_token", 1842)
W_MWI_QUERY = ("sofia_reg.c", "sofia_reg_handle_register_token", 2098)
W_MWI = ("mod_voicemail.c", "actual_message_query_handler", 2361)
W_UNREGISTER = ("sofia_reg.c", "sofia_reg_handle_register_token", 2213)
W_EXPIRE = ("sofia_reg.c", "sofia_reg_del_callback", 738)
W_EXPIRE_PRESENCE = ("sofia_reg.c", "sofia_reg_del_callback", 756)
EXPIRES_LATE_MARGIN = 60  # the sofia profile's sip-expires-late-margin (default 60 s)


@dataclass
class PhoneBehaviour:
    """What an agent phone does when rung: answer (after delay), noanswer, busy."""

    mode: str = "answer"
    delay: tuple[float, float] = (1.0, 3.0)

    @classmethod
    def parse(cls, text: str | None) -> PhoneBehaviour:
        """``answer``, ``answer:<s>``, ``answer:<min>-<max>``, ``noanswer``, ``busy``."""
        if not text:
            return cls()
        mode, _, delay = text.partition(":")
        mode = mode.strip().lower()
        if mode not in ("answer", "noanswer", "busy"):
            raise ValueError(f"unknown phone behaviour {text!r}")
        if not delay:
            return cls(mode)
        lo, _, hi = delay.partition("-")
        return cls(mode, (float(lo), float(hi or lo)))


@dataclass
class Registration:
    ext: str
    realm: str
    network_ip: str
    network_port: int
    call_id: str
    expires: int  # what the phone asked for (seconds)
    user_agent: str = "switchsim-phone/1.0"
    expires_at: int = 0  # epoch: the registration's end unless refreshed (+ the late margin)


@dataclass
class CallerSpec:
    """A simulated caller: seconds are (min, max) ranges drawn uniformly."""

    talk: tuple[float, float] = (10.0, 60.0)
    patience: tuple[float, float] | None = None
    dtmf: str = ""  # "random", or answers separated by commas, e.g. "1,42#"
    record_seconds: float = 3.0
    dtmf_delay: float = 0.3


class Caller:
    """Behaviour attached to one inbound trunk channel."""

    def __init__(self, world: World, ch: Channel, spec: CallerSpec) -> None:
        self.world = world
        self.ch = ch
        self.spec = spec
        self.answers = [a for a in spec.dtmf.split(",")] if spec.dtmf not in ("", "random") else []
        self.record_seconds = spec.record_seconds
        self.timers: list[asyncio.TimerHandle] = []
        loop = asyncio.get_running_loop()
        if spec.patience:
            self.timers.append(loop.call_later(_draw(spec.patience), self.abandon))
        ch.on_collect = self.on_collect

    def _hangup(self) -> None:
        ch = self.ch
        if ch.is_up:
            self.world.sw.hangup(
                ch, "NORMAL_CLEARING" if ch.times["answered"] else "ORIGINATOR_CANCEL"
            )

    def abandon(self) -> None:
        if self.ch.bridge_peer is None:
            log.debug("caller %s abandons", self.ch.profile.caller_id_number)
            self._hangup()

    def on_bridged(self) -> None:
        self.cancel()
        loop = asyncio.get_running_loop()
        self.timers.append(loop.call_later(_draw(self.spec.talk), self._hangup))

    def on_collect(self, ch: Channel, max_digits: int, terminators: str) -> None:
        if self.spec.dtmf == "random":
            digits = str(random.randint(1, min(9, 10 ** max(1, max_digits) - 1)))
            if max_digits > 1 and "#" in terminators:
                digits += "#"
        elif self.answers:
            digits = self.answers.pop(0)
        else:
            return
        loop = asyncio.get_running_loop()
        for i, d in enumerate(digits):
            delay = self.spec.dtmf_delay + 0.1 * i
            self.timers.append(loop.call_later(delay, self.world.sw.receive_dtmf, ch, d))

    def cancel(self) -> None:
        for t in self.timers:
            t.cancel()
        self.timers.clear()


def _draw(r: tuple[float, float]) -> float:
    return random.uniform(r[0], r[1]) if r[1] > r[0] else r[0]


@dataclass
class World:
    sw: Switch
    realm: str = "127.0.0.1"
    trunk_host: str = "198.51.100.10"
    default_phone: PhoneBehaviour = field(default_factory=PhoneBehaviour)
    phones: dict[str, PhoneBehaviour] = field(default_factory=dict)
    regs: dict[str, Registration] = field(default_factory=dict)
    callers_created: int = 0
    _port: itertools.count = field(default_factory=lambda: itertools.count(5062))

    # -- registrations ---------------------------------------------------------------------
    def registration(self, ext: str) -> Registration | None:
        return self.regs.get(ext)

    def registrations(self) -> list[Registration]:
        return [self.regs[k] for k in sorted(self.regs)]

    def register(self, ext: str, behaviour: PhoneBehaviour | None = None) -> Registration:
        if behaviour is not None:
            self.phones[ext] = behaviour
        n = len(self.regs) + 10
        reg = Registration(
            ext, self.realm, f"192.0.2.{n % 250 + 1}", next(self._port), str(uuidlib.uuid4()), 3600
        )
        # simulated phones refresh in time: this is only what `show registrations` shows
        reg.expires_at = int(time.time()) + reg.expires + EXPIRES_LATE_MARGIN
        self.regs[ext] = reg
        self._register_events(reg, "3600")
        return reg

    def expire(self, ext: str) -> bool:
        """The phone stopped refreshing and its registration ran out: sofia's expiry check
        (sofia_reg_check_expire → sofia_reg_del_callback) fires sofia::expire then PRESENCE_IN
        (whose user-agent header carries the registration's status, as sofia's code does)."""
        reg = self.regs.pop(ext, None)
        if reg is None:
            return False
        bus = self.sw.bus
        headers = [
            ("profile-name", "internal"),
            ("call-id", reg.call_id),
            ("user", ext),
            ("username", ext),
            ("host", self.realm),
            ("contact", self._contact(reg)),
            ("expires", str(reg.expires_at)),
            ("user-agent", reg.user_agent),
            ("realm", self.realm),
            ("network-ip", reg.network_ip),
            ("network-port", str(reg.network_port)),
        ]
        bus.emit("CUSTOM", W_EXPIRE, headers, subclass="sofia::expire")
        presence = [
            ("proto", "sip"),
            ("rpid", "away"),
            ("login", f"sip:mod_sofia@{self.realm}:5060"),
            ("user-agent", "Registered(UDP)"),
            ("from", f"{ext}@{self.realm}"),
            ("status", "Unregistered"),
            ("event_type", "presence"),
        ]
        bus.emit("PRESENCE_IN", W_EXPIRE_PRESENCE, presence)
        return True

    def _contact(self, reg: Registration) -> str:
        return f'"" <sip:{reg.ext}@{reg.network_ip}:{reg.network_port};transport=UDP>'

    def _attempt(self, reg: Registration, expires: str) -> list[tuple[str, str]]:
        """sofia::pre_register then sofia::register_attempt (every REGISTER, challenged or
        not, fires both), as sofia_reg_handle_register_token does; returns their common
        headers."""
        common = [
            ("profile-name", "internal"),
            ("from-user", reg.ext),
            ("from-host", self.realm),
            ("contact", self._contact(reg)),
            ("call-id", reg.call_id),
            ("rpid", "unknown"),
            ("status", "Registered(UDP)"),
            ("expires", expires),
            ("to-user", reg.ext),
            ("to-host", self.realm),
            ("network-ip", reg.network_ip),
            ("network-port", str(reg.network_port)),
        ]
        agent = [("user-agent", reg.user_agent)]
        bus = self.sw.bus
        bus.emit("CUSTOM", W_PRE_REGISTER, common + agent, subclass="sofia::pre_register")
        attempt = [("username", reg.ext), ("realm", self.realm), *agent, ("auth-result", "RENEWED")]
        bus.emit("CUSTOM", W_ATTEMPT, common + attempt, subclass="sofia::register_attempt")
        return common

    def _user_vars(self, ext: str) -> list[tuple[str, str]]:
        """The directory user's params and variables sofia appends to (un)register events."""
        return [
            ("sip_number_alias", ext),
            ("sip_auth_username", ext),
            ("sip_auth_realm", self.realm),
            ("number_alias", ext),
            ("user_name", ext),
            ("domain_name", self.realm),
        ]

    def _register_events(self, reg: Registration, expires: str) -> None:
        """A REGISTER accepted (sip-call-hold.txt, sofia-register-gateway.txt):
        pre_register, register_attempt, register, then the voicemail MWI query and answer."""
        common = self._attempt(reg, expires)
        headers = common[:3] + [("presence-hosts", f"{self.realm},{self.realm}")] + common[3:]
        headers += [("username", reg.ext), ("realm", self.realm), ("user-agent", reg.user_agent)]
        headers += self._user_vars(reg.ext)
        bus = self.sw.bus
        bus.emit("CUSTOM", W_REGISTER, headers, subclass="sofia::register")
        account = f"sip:{reg.ext}@{self.realm}"
        bus.emit(
            "MESSAGE_QUERY",
            W_MWI_QUERY,
            [
                ("Message-Account", account),
                ("VM-Sofia-Profile", "internal"),
                ("VM-Call-ID", reg.call_id),
            ],
        )
        bus.emit(
            "MESSAGE_WAITING",
            W_MWI,
            [
                ("MWI-Messages-Waiting", "no"),
                ("MWI-Message-Account", account),
                ("Sofia-Profile", "internal"),
                ("Call-ID", reg.call_id),
            ],
        )

    def unregister(self, ext: str) -> bool:
        """A REGISTER with Expires: 0: pre_register, register_attempt, PRESENCE_IN
        (Unregistered), sofia::unregister."""
        reg = self.regs.pop(ext, None)
        if reg is None:
            return False
        self._attempt(reg, "0")
        bus = self.sw.bus
        bus.emit(
            "PRESENCE_IN",
            W_PRESENCE,
            [
                ("proto", "sip"),
                ("rpid", "unknown"),
                ("login", f"sip:mod_sofia@{self.realm}"),
                ("user-agent", reg.user_agent),
                ("from", f"{ext}@{self.realm}"),
                ("status", "Unregistered"),
                ("presence-source", "register"),
                ("event_type", "presence"),
            ],
        )
        headers = [
            ("profile-name", "internal"),
            ("username", ext),
            ("from-user", ext),
            ("from-host", self.realm),
            ("contact", self._contact(reg)),
            ("call-id", reg.call_id),
            ("rpid", "unknown"),
            ("realm", self.realm),
            ("network-ip", reg.network_ip),
            ("network-port", str(reg.network_port)),
            ("user-agent", reg.user_agent),
            ("expires", "0"),
            *self._user_vars(ext),
        ]
        bus.emit("CUSTOM", W_UNREGISTER, headers, subclass="sofia::unregister")
        return True

    # -- phones ----------------------------------------------------------------------------
    def ring_phone(self, ch: Channel, ext: str) -> None:
        behaviour = self.phones.get(ext, self.default_phone)
        loop = asyncio.get_running_loop()
        sw = self.sw

        def ring() -> None:
            if behaviour.mode == "busy":
                sw.hangup(ch, "USER_BUSY")
                return
            sw.ring(ch)
            if behaviour.mode == "answer":
                loop.call_later(_draw(behaviour.delay), sw.answer, ch)

        loop.call_later(0.05, ring)

    # -- callers ---------------------------------------------------------------------------
    def inbound_call(
        self,
        ani: str,
        dnis: str,
        spec: CallerSpec | None = None,
        name: str = "",
        context: str = "public",
        apps: list[tuple[str, str]] | None = None,
        answer_after: float | None = None,
    ) -> Channel:
        """A call from the trunk (Call-Direction inbound) into ``context``."""
        sw = self.sw
        host = self.trunk_host
        prof = Profile(
            direction="inbound",
            caller_id_name=name or ani,
            caller_id_number=ani,
            ani=ani,
            destination_number=dnis,
            source="mod_sofia",
            context=context,
            network_addr=host,
        )
        ch = Channel(str(uuidlib.uuid4()), f"sofia/external/{ani}@{host}", "inbound", prof)
        ch.session_id = sw.next_session_id()
        c = ch.codec
        ch.vars = {
            "direction": "inbound",
            "uuid": ch.uuid,
            "session_id": str(ch.session_id),
            "sip_from_user": ani,
            "sip_from_uri": f"{ani}@{host}",
            "sip_from_host": host,
            "channel_name": ch.name,
            "sip_call_id": f"{uuidlib.uuid4().hex}@{host}",
            "sip_network_ip": host,
            "sip_network_port": "5060",
            "sip_received_ip": host,
            "sip_received_port": "5060",
            "sip_via_protocol": "udp",
            "sip_to_user": dnis,
            "sip_to_host": sw.config.ipv4,
            "sip_req_user": dnis,
            "sofia_profile_name": "external",
            "sip_profile_name": "external",
            "read_codec": c[0],
            "read_rate": c[1],
            "write_codec": c[0],
            "write_rate": c[1],
            "call_uuid": ch.uuid,
        }
        if spec is not None:
            ch.caller = Caller(self, ch, spec)
        self.callers_created += 1
        start_inbound(sw, ch, apps)
        if answer_after is not None:
            asyncio.get_running_loop().call_later(answer_after, sw.answer, ch)
        return ch

    # -- hooks from the switch -------------------------------------------------------------
    def bridged(self, a: Channel, b: Channel) -> None:
        for x in (a, b):
            if x.caller is not None:
                x.caller.on_bridged()

    def unbridged(self, a: Channel, b: Channel) -> None:
        pass

    def channel_gone(self, ch: Channel) -> None:
        if ch.caller is not None:
            ch.caller.cancel()
