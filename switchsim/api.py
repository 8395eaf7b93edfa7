"""The api command table: ``api``/``bgapi`` command name → implementation.

Owns dispatch and the non-uuid commands: status, show, originate, hupall, sofia status,
sofia xmlstatus gateway (:mod:`switchsim.gateways`),
reloadxml, version, global_getvar/setvar, ``conference`` (delegated to
:mod:`switchsim.conference_api`), plus the switchsim-only ``sim_*`` commands (delegated to
:mod:`switchsim.sim_api`). Unknown commands answer
``-ERR <name> Command not found!`` as mod_event_socket does.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from switchsim import FS_VERSION
from switchsim.api_show import SOFIA_STATUS, show, status
from switchsim.api_uuid import api_uuid
from switchsim.legs import OriginateError, originate_leg
from switchsim.session import begin_execute, wait_until
from switchsim.switch import Switch, valid_cause

log = logging.getLogger(__name__)
ORIGINATE_USAGE = (
    "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] "
    "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
)


def _split_originate(arg: str) -> list[str]:
    """Split originate args; the dial string may contain spaces inside {} or []."""
    arg = arg.strip()
    depth, i = 0, 0
    while i < len(arg):
        c = arg[i]
        if c in "{[<":
            depth += 1
        elif c in "}]>":
            depth -= 1
        elif c == " " and depth <= 0:
            break
        i += 1
    return [arg[:i], *arg[i:].split()]


async def originate(sw: Switch, arg: str) -> str:
    parts = _split_originate(arg)
    if len(parts) < 2 or not parts[0]:
        return ORIGINATE_USAGE
    dial, target = parts[0], parts[1]
    dialplan = parts[2] if len(parts) > 2 else "XML"
    context = parts[3] if len(parts) > 3 else "default"
    cid = (parts[4] if len(parts) > 4 else "", parts[5] if len(parts) > 5 else "")
    try:
        timeout = float(parts[6]) if len(parts) > 6 else 60.0
    except ValueError:
        timeout = 60.0
    if target.startswith("&") and len(parts) > 2 and "(" in target and ")" not in target:
        target = " ".join(parts[1:])  # &app(arg with spaces)
    try:
        leg = await originate_leg(sw, dial, timeout, cid=cid if any(cid) else None)
    except OriginateError as exc:
        return f"-ERR {exc.cause}\n"
    if not leg.is_up:
        return f"-ERR {leg.hangup_cause or 'NORMAL_CLEARING'}\n"
    if await _taken_before_reply(sw, leg):
        # switch_ivr_originate saw the peer bridged/transferred (not peer_eligible): the
        # originate fails although the leg is up, and &app is never given to it
        kind = dial.rsplit("}", 1)[-1].split("/", 1)[0]
        log.info("Cannot create outgoing channel of type [%s] cause: [ORIGINATOR_CANCEL]", kind)
        return "-ERR ORIGINATOR_CANCEL\n"
    if not leg.is_up:
        return f"-ERR {leg.hangup_cause or 'NORMAL_CLEARING'}\n"
    _flip_caller_id(leg)
    if target.startswith("&"):
        m = re.match(r"^&([\w-]+)(?:\((.*)\))?(?::(.*))?$", target, re.S)
        if not m:
            sw.hangup(leg, "DESTINATION_OUT_OF_ORDER")
            return "-ERR DESTINATION_OUT_OF_ORDER\n"
        app, app_arg = m.group(1), m.group(2) or m.group(3) or ""
        begin_execute(sw, leg, [(app, app_arg)])
    else:
        leg.profile.context = context
        leg.profile.dialplan = dialplan.lower()
        if dialplan.lower() == "inline":  # originate <url> app:arg,app inline
            from switchsim.dialplan import parse_inline

            apps = parse_inline(target) or None
        else:
            leg.profile.destination_number = target
            apps = sw.dialplan.lookup(context, target, leg.vars, sw.globals)
        if apps is None:
            sw.hangup(leg, "NO_ROUTE_DESTINATION")
        else:
            begin_execute(sw, leg, apps)
    return f"+OK {leg.uuid}\n"


async def _taken_before_reply(sw: Switch, leg: Any) -> bool:
    """Wait ``--originate-reply-delay`` after the answer (the originate thread's own pace on
    a real switch); True when something took the leg meanwhile (uuid_bridge, uuid_transfer,
    uuid_park: CF_BRIDGED / CF_TRANSFER / CF_REDIRECT make it no longer the originate's)."""
    delay = sw.config.originate_reply_delay
    if delay <= 0:
        return False
    moves = leg.moves
    await wait_until(leg, lambda: leg.moves != moves, delay)
    return leg.is_up and (
        leg.moves != moves
        or leg.bridge_peer is not None
        or leg.bridge_request is not None
        or leg.transfer_to is not None
        or leg.park_request
    )


def _flip_caller_id(leg: Any) -> None:
    p = leg.profile
    leg.vars["endpoint_disposition"] = "ANSWER"
    leg.set_var("pre_transfer_caller_id_name", p.caller_id_name)
    leg.set_var("pre_transfer_caller_id_number", p.caller_id_number)
    leg.vars["channel_cid_flipped"] = "yes"
    call_uuid = leg.vars.pop("call_uuid", None)
    if call_uuid:
        leg.vars["call_uuid"] = call_uuid
    p.caller_id_name, p.callee_id_name = p.callee_id_name, p.caller_id_name
    p.caller_id_number, p.callee_id_number = p.callee_id_number, p.caller_id_number


def hupall(sw: Switch, arg: str) -> str:
    a = arg.split()
    cause = a[0].upper() if a and valid_cause(a[0]) else "MANAGER_REQUEST"
    var, value = (a[1], a[2]) if len(a) > 2 else (None, None)
    for ch in list(sw.channels.values()):
        if var is None or ch.vars.get(var) == value:
            sw.hangup(ch, cause)
    if var is None:
        return f"+OK hangup all channels with cause {cause}\n"
    return f"+OK hangup all channels matching [{var}]=[{value}] with cause: {cause}\n"


async def execute_api(server: Any, conn: Any, cmd: str, arg: str) -> str:
    """Run one api command and return its output text."""
    sw: Switch = server.switch
    name = cmd.strip()
    arg = arg.strip()
    lname = name.lower()
    try:
        if sw.modules.api_missing(lname):  # its module is not loaded
            return f"-ERR {name} Command not found!\n"
        if lname.startswith("uuid_"):
            out = await api_uuid(sw, lname, arg)
            if out is not None:
                return out
        elif lname == "status":
            return status(sw)
        elif lname == "show":
            return show(sw, arg)
        elif lname == "originate":
            return await originate(sw, arg)
        elif lname == "hupall":
            return hupall(sw, arg)
        elif lname == "sofia":
            words = arg.split()
            if words[:1] == ["status"] and len(words) == 1:
                return SOFIA_STATUS
            if words[:2] == ["xmlstatus", "gateway"]:
                return sw.gateways.xmlstatus(words[2] if len(words) > 2 else "")
            return "+OK\n"
        elif lname == "reloadxml":
            return "+OK [Success]\n"
        elif lname == "xml_flush_cache":  # mod_commands' reply; switchsim caches no directory
            return "+OK cleared 0 entries\n"
        elif lname == "version":
            return f"FreeSWITCH Version {FS_VERSION} (git cc93a68 2026-08-21 14:10:14Z 64bit)\n"
        elif lname == "global_getvar":
            return (
                sw.globals.get(arg, "")
                if arg
                else "".join(f"{k}={v}\n" for k, v in sw.globals.items())
            )
        elif lname == "global_setvar":
            k, _, v = arg.partition("=")
            sw.globals[k.strip()] = v.strip()
            return "+OK\n"
        elif lname == "conference":
            from switchsim.conference_api import api_conference

            return api_conference(sw, arg)
        elif lname == "module_exists":
            return ("true" if sw.modules.exists(arg) else "false") if arg else ""
        elif lname == "avmd":
            from switchsim.avmd import api_avmd

            return api_avmd(sw, arg)
        elif lname == "eval":
            return sw.expand(arg)
        elif lname == "echo":
            return arg
        elif lname.startswith("sim_"):
            from switchsim.sim_api import sim_api

            out = await sim_api(server, conn, lname, arg)
            if out is not None:
                return out
    except Exception:
        log.exception("api %s %s failed", name, arg)
        return f"-ERR {name} failed\n"
    return f"-ERR {name} Command not found!\n"
