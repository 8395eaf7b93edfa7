"""Originating legs: dial-string parsing and the endpoints loopback/, user/, sofia/, error/.

Owns ``switch_ivr_originate``'s job: turn ``{vars}endpoint`` into a ringing outbound channel,
drive it to answer (or fail with a hang-up cause) and hand it back to the caller (the
``originate`` api or the ``bridge`` app).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid as uuidlib

from switchsim.channel import Channel, Profile
from switchsim.far_end import Outcome
from switchsim.session import start_inbound, start_outbound, wait_until
from switchsim.switch import W_DESTROY, W_STATE, Switch

log = logging.getLogger(__name__)


class OriginateError(Exception):
    """Originate failed; ``cause`` is the FreeSWITCH hang-up cause name."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def split_vars(text: str) -> list[str]:
    """Split ``a=b,c='x,y'`` on commas outside quotes (and ``^^:`` custom delimiters)."""
    out, cur, quote = [], "", ""
    for c in text:
        if quote:
            if c == quote:
                quote = ""
            else:
                cur += c
        elif c in "'\"":
            quote = c
        elif c == ",":
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return [x for x in out if x.strip()]


def parse_dial_string(dial: str) -> tuple[dict[str, str], list[tuple[dict[str, str], str]]]:
    """``{g=1}[l=2]ep1|ep2`` → global vars and [(leg vars, endpoint)] (``,`` = first only)."""
    dial = dial.strip()
    global_vars: dict[str, str] = {}
    for opener, closer in (("{", "}"), ("<", ">")):
        if dial.startswith(opener) and closer in dial:
            end = dial.index(closer)
            for item in split_vars(dial[1:end]):
                k, _, v = item.partition("=")
                global_vars[k.strip()] = v.strip()
            dial = dial[end + 1 :]
    legs = []
    for part in dial.split("|"):
        part = part.split(",")[0].strip()
        leg_vars: dict[str, str] = {}
        m = re.match(r"^\[([^\]]*)\](.*)$", part)
        if m:
            for item in split_vars(m.group(1)):
                k, _, v = item.partition("=")
                leg_vars[k.strip()] = v.strip()
            part = m.group(2)
        if part:
            legs.append((leg_vars, part))
    return global_vars, legs


def _base_vars(ch: Channel, outbound: bool) -> dict[str, str]:
    v = {"direction": ch.direction}
    if outbound:
        v["is_outbound"] = "true"
    v["session_id"] = str(ch.session_id)
    c = ch.codec
    v.update(read_codec=c[0], read_rate=c[1], write_codec=c[0], write_rate=c[1])
    v["channel_name"] = ch.name
    v["uuid"] = ch.uuid
    return v


async def originate_leg(
    sw: Switch,
    dial: str,
    timeout: float,
    caller: Channel | None = None,
    cid: tuple[str, str] | None = None,
) -> Channel:
    """Originate the first endpoint of a dial string that answers; raise OriginateError."""
    gvars, legs = parse_dial_string(dial)
    if not legs:
        raise OriginateError("DESTINATION_OUT_OF_ORDER")
    cause = "NORMAL_CLEARING"
    for leg_vars, endpoint in legs:
        variables = {**gvars, **leg_vars}
        try:
            t = float(variables.get("leg_timeout") or variables.get("originate_timeout") or timeout)
        except ValueError:
            t = timeout
        try:
            return await _originate_one(sw, endpoint, variables, t, caller, cid)
        except OriginateError as exc:
            cause = exc.cause
    raise OriginateError(cause)


async def _await_answer(sw: Switch, ch: Channel, timeout: float) -> Channel:
    ok = await wait_until(ch, lambda: ch.answer_state == "answered", timeout)
    if ok:
        return ch
    if ok is None:  # timed out
        sw.hangup(ch, "NO_ANSWER")
        raise OriginateError("NO_ANSWER")
    await asyncio.sleep(0)
    raise OriginateError(ch.hangup_cause or ch.pending_hangup or "NORMAL_CLEARING")


def _caller_ids(
    variables: dict[str, str], caller: Channel | None, cid: tuple[str, str] | None
) -> tuple[str, str]:
    name = variables.get("origination_caller_id_name") or variables.get(
        "effective_caller_id_name", ""
    )
    number = variables.get("origination_caller_id_number") or variables.get(
        "effective_caller_id_number", ""
    )
    if caller is not None:
        name = name or caller.vars.get("effective_caller_id_name") or caller.profile.caller_id_name
        number = (
            number
            or caller.vars.get("effective_caller_id_number")
            or caller.profile.caller_id_number
        )
    if cid:
        name, number = name or cid[0], number or cid[1]
    return name, number or "0000000000"


async def _originate_one(
    sw: Switch,
    endpoint: str,
    variables: dict[str, str],
    timeout: float,
    caller: Channel | None,
    cid: tuple[str, str] | None,
) -> Channel:
    kind, _, rest = endpoint.partition("/")
    kind = kind.lower()
    if kind == "loopback":
        return await _loopback(sw, rest, variables, timeout, caller, cid)
    if kind == "error":
        raise OriginateError(rest.upper() or "NORMAL_CLEARING")
    if kind == "user":
        ext, _, domain = rest.partition("@")
        return await _user(sw, ext, domain, variables, timeout, caller, cid)
    if kind == "sofia":
        profile, _, target = rest.partition("/")
        if profile == "gateway":
            gw, _, number = target.partition("/")
            trunk = sw.gateways.find(gw)
            if trunk is None:
                _lone_destroy(sw)
                raise OriginateError("INVALID_GATEWAY")
            if trunk.status != "UP":  # sofia_outgoing_channel: no named channel
                trunk.failed_calls_out += 1
                _lone_destroy(sw)
                raise OriginateError("GATEWAY_DOWN")
            trunk.calls_out += 1
            return await _gateway(sw, gw, number, variables, timeout, caller, cid)
        if profile not in SOFIA_PROFILES:
            _lone_destroy(sw)
            raise OriginateError("INVALID_PROFILE")
        ext, _, host = target.partition("@")
        if sw.world is not None and sw.world.registration(ext) is not None:
            return await _user(sw, ext, host, variables, timeout, caller, cid)
        return await _gateway(sw, host or profile, ext, variables, timeout, caller, cid)
    raise OriginateError("CHAN_NOT_IMPLEMENTED")


# the sofia profiles of the vanilla configuration (and the project's freeswitch_conf)
SOFIA_PROFILES = ("internal", "external", "internal-ipv6", "external-ipv6")


def _lone_destroy(sw: Switch) -> None:
    """sofia_outgoing_channel refusing an unknown or down gateway or an unknown profile:
    the session it had made is destroyed before it got a name, so a lone CHANNEL_DESTROY
    with ``Channel-Name: N/A`` (then CHANNEL_STATE CS_DESTROY) is all that is seen
    (originate-failures.txt, sofia-register-gateway.txt)."""
    uuid = str(uuidlib.uuid4())
    sid = str(sw.next_session_id())
    headers = [
        ("Channel-State", "CS_NONE"),
        ("Channel-Call-State", "DOWN"),
        ("Channel-State-Number", "0"),
        ("Channel-Name", "N/A"),
        ("Unique-ID", uuid),
        ("Call-Direction", "outbound"),
        ("Presence-Call-Direction", "outbound"),
        ("Channel-HIT-Dialplan", "false"),
        ("Channel-Call-UUID", uuid),
        ("Answer-State", "ringing"),
        ("variable_direction", "outbound"),
        ("variable_is_outbound", "true"),
        ("variable_uuid", uuid),
        ("variable_call_uuid", uuid),
        ("variable_session_id", sid),
    ]
    sw.bus.emit("CHANNEL_DESTROY", W_DESTROY, headers)
    # then its last state change, without variables (sofia-register-gateway.txt)
    state = [("Channel-State", "CS_DESTROY"), *headers[1:10]]
    sw.bus.emit("CHANNEL_STATE", W_STATE, state)


def in_directory(sw: Switch, ext: str) -> bool:
    """Whether ``user/<ext>`` names a directory user. The project's directory (xml_curl)
    holds its extensions: every number of 1 to 8 digits not starting with 9 (9xxx are the
    dialplan's feature and test extensions), plus anyone registered or scripted."""
    if sw.world is not None and (sw.world.registration(ext) or ext in sw.world.phones):
        return True
    return bool(re.fullmatch(r"[1-8]\d{0,7}", ext))


def _new_uuid(variables: dict[str, str]) -> str:
    wanted = variables.get("origination_uuid", "")
    return wanted if wanted else str(uuidlib.uuid4())


async def _loopback(
    sw: Switch,
    rest: str,
    variables: dict[str, str],
    timeout: float,
    caller: Channel | None,
    cid: tuple[str, str] | None,
) -> Channel:
    parts = rest.split("/")
    ext = parts[0]
    context = parts[1] if len(parts) > 1 and parts[1] else "default"
    dialplan = parts[2] if len(parts) > 2 and parts[2] else "xml"
    name, number = _caller_ids(variables, caller, cid)
    a_uuid = _new_uuid(variables)
    if sw.get(a_uuid) is not None:
        raise OriginateError("NORMAL_TEMPORARY_FAILURE")
    b_uuid = str(uuidlib.uuid4())

    def profile(direction: str) -> Profile:
        return Profile(
            direction=direction,
            dialplan=dialplan.lower(),
            caller_id_name=name,
            caller_id_number=number,
            callee_id_name="Outbound Call",
            callee_id_number=context,
            ani=number,
            destination_number=ext,
            source="mod_loopback",
            context=context,
        )

    a = Channel(a_uuid, f"loopback/{ext}-a", "outbound", profile("outbound"), "loopback", "L16")
    a.session_id = sw.next_session_id()
    a.vars = _base_vars(a, True)
    a.vars["call_uuid"] = caller.uuid if caller else a.uuid
    a.vars.update(variables)
    a.vars.update(
        originate_early_media="true",
        originate_endpoint="loopback",
        other_loopback_leg_uuid=b_uuid,
        loopback_leg="A",
    )
    a.loopback_leg = "A"
    start_outbound(sw, a)
    b = Channel(b_uuid, f"loopback/{ext}-b", "inbound", profile("inbound"), "loopback", "L16")
    b.session_id = sw.next_session_id()
    b.vars = {"direction": "inbound", "uuid": b.uuid, "call_uuid": b.uuid}
    b.vars.update(_base_vars(b, False))
    # mod_loopback clones the originate's variables ({…}) onto the b leg (__loopback_vars__)
    b.vars.update(variables)
    b.vars.update(other_loopback_leg_uuid=a.uuid, loopback_leg="B")
    b.loopback_leg = "B"
    a.loopback_peer, b.loopback_peer = b, a
    apps = sw.dialplan.lookup(context, ext, b.vars, sw.globals)
    if apps is None:
        start_inbound(sw, b, [])
        sw.hangup(a, "NORMAL_CLEARING")
        raise OriginateError("NORMAL_CLEARING")
    start_inbound(sw, b, apps)
    return await _await_answer(sw, a, timeout)


def _sofia_leg(
    sw: Switch,
    name: str,
    dest: str,
    variables: dict[str, str],
    caller: Channel | None,
    cid: tuple[str, str] | None,
    profile_name: str,
    network_ip: str,
) -> Channel:
    cid_name, cid_number = _caller_ids(variables, caller, cid)
    ch_uuid = _new_uuid(variables)
    if sw.get(ch_uuid) is not None:
        raise OriginateError("NORMAL_TEMPORARY_FAILURE")
    prof = Profile(
        direction="outbound",
        caller_id_name=cid_name,
        caller_id_number=cid_number,
        callee_id_name="Outbound Call",
        callee_id_number=dest,
        ani=cid_number,
        destination_number=dest,
        source="mod_sofia",
        context=caller.profile.context if caller else "default",
        dialplan="",  # an originated SIP leg has no dialplan of its own (sip-call-hold.txt)
    )
    ch = Channel(ch_uuid, name, "outbound", prof, "sofia", "PCMU")
    ch.session_id = sw.next_session_id()
    ch.vars = _base_vars(ch, True)
    # no codec until the far end answers with SDP; its address once it first responds
    for k in ("read_codec", "read_rate", "write_codec", "write_rate"):
        ch.vars.pop(k)
    ch.media_ready = False
    ch.far_addr = network_ip
    ch.vars["call_uuid"] = caller.uuid if caller else ch.uuid
    if caller is not None:
        for k, v in caller.vars.items():
            if k in caller.exports:
                ch.vars[k] = v
    ch.vars.update(variables)
    ch.vars.update(
        sip_profile_name=profile_name,
        sofia_profile_name=profile_name,
        sip_network_ip=network_ip,
        sip_call_id=str(uuidlib.uuid4()),
        originate_early_media="false",
        originate_endpoint="sofia" if profile_name == "external" else "user",
        recovery_profile_name=profile_name,
        sofia_profile_url=f"sip:mod_sofia@{sw.config.ipv4}",
        advertised_media_ip=sw.config.ipv4,
    )
    start_outbound(sw, ch)
    return ch


async def _user(
    sw: Switch,
    ext: str,
    domain: str,
    variables: dict[str, str],
    timeout: float,
    caller: Channel | None,
    cid: tuple[str, str] | None,
) -> Channel:
    reg = sw.world.registration(ext) if sw.world is not None else None
    if reg is None:
        # user_outgoing_channel: no directory entry → SUBSCRIBER_ABSENT; an entry without
        # a registered contact → USER_NOT_REGISTERED (no channel is made for either)
        raise OriginateError(
            "USER_NOT_REGISTERED" if in_directory(sw, ext) else "SUBSCRIBER_ABSENT"
        )
    name = f"sofia/internal/{ext}@{reg.network_ip}:{reg.network_port}"
    variables = {**variables, "dialed_user": ext, "dialed_domain": domain or reg.realm}
    ch = _sofia_leg(sw, name, ext, variables, caller, cid, "internal", reg.network_ip)
    sw.world.ring_phone(ch, ext)
    return await _await_answer(sw, ch, timeout)


async def _scripted_far_end(sw: Switch, ch: Channel, outcome: Outcome) -> None:
    """switchsim.far_end's outcome, as the carrier and the called party would play it."""
    ch.vars["sim_far_end"] = outcome.kind
    if outcome.kind == "invalid":
        await asyncio.sleep(0.05)
        sw.hangup(ch, "UNALLOCATED_NUMBER")
        return
    await asyncio.sleep(0.05)
    sw.ring(ch)
    if outcome.kind == "no_answer":
        return  # rings until the originate gives up
    await asyncio.sleep(outcome.ring)
    if not ch.is_up:
        return
    if outcome.kind == "busy":
        sw.hangup(ch, "USER_BUSY")
        return
    sw.answer(ch)
    if outcome.kind == "machine":
        from switchsim.avmd import far_end_beeps

        far_end_beeps(sw, ch, outcome.greeting)
    await asyncio.sleep(outcome.talk)
    if ch.is_up:
        sw.hangup(ch, "NORMAL_CLEARING")


async def _gateway(
    sw: Switch,
    gateway: str,
    number: str,
    variables: dict[str, str],
    timeout: float,
    caller: Channel | None,
    cid: tuple[str, str] | None,
) -> Channel:
    name = f"sofia/external/{number}@{gateway}"
    ch = _sofia_leg(sw, name, number, variables, caller, cid, "external", gateway)
    ch.vars["sip_gateway_name"] = gateway
    outcome = sw.far_ends.next_for(number)

    async def far_end() -> None:
        if outcome is not None:
            await _scripted_far_end(sw, ch, outcome)
            return
        await asyncio.sleep(min(0.05, sw.config.gateway_answer_delay))
        sw.ring(ch)
        await asyncio.sleep(max(0.0, sw.config.gateway_answer_delay - 0.05))
        sw.answer(ch)

    task = asyncio.create_task(far_end())
    ch.background = task
    return await _await_answer(sw, ch, timeout)
