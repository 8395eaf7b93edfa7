"""``show channels|calls|registrations [as json]``, ``status`` and ``sofia status`` output.

Owns the column sets and the plain/json formats of FreeSWITCH's ``show`` command.
"""

from __future__ import annotations

import json
import time

from switchsim import FS_VERSION
from switchsim.channel import Channel
from switchsim.switch import Switch

CHANNEL_COLUMNS = (
    "uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,dest,application,"
    "application_data,dialplan,context,read_codec,read_rate,read_bit_rate,write_codec,write_rate,"
    "write_bit_rate,secure,hostname,presence_id,presence_data,accountcode,callstate,callee_name,"
    "callee_num,callee_direction,call_uuid,sent_callee_name,sent_callee_num,initial_cid_name,"
    "initial_cid_num,initial_ip_addr,initial_dest,initial_dialplan,initial_context"
).split(",")
CALL_A_COLUMNS = (
    "uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,dest,presence_id,"
    "presence_data,accountcode,callstate,callee_name,callee_num,callee_direction,call_uuid,"
    "hostname,sent_callee_name,sent_callee_num"
).split(",")
CALL_B_COLUMNS = (
    "uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,dest,presence_id,"
    "presence_data,accountcode,callstate,callee_name,callee_num,callee_direction,"
    "sent_callee_name,sent_callee_num"
).split(",")
REG_COLUMNS = (
    "reg_user,realm,token,url,expires,network_ip,network_port,network_proto,hostname,metadata"
).split(",")


def channel_row(sw: Switch, ch: Channel) -> dict[str, str]:
    p = ch.profile
    created = ch.times["created"] // 1_000_000
    outbound = ch.direction == "outbound"
    return {
        "uuid": ch.uuid,
        "direction": ch.direction,
        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
        "created_epoch": str(created),
        "name": ch.name,
        "state": ch.state,
        "cid_name": p.caller_id_name,
        "cid_num": p.caller_id_number,
        "ip_addr": p.network_addr,
        "dest": p.destination_number,
        "application": ch.current_app,
        "application_data": ch.current_arg,
        "dialplan": p.dialplan,
        "context": p.context,
        "read_codec": ch.codec[0],
        "read_rate": ch.codec[1],
        "read_bit_rate": ch.codec[2],
        "write_codec": ch.codec[0],
        "write_rate": ch.codec[1],
        "write_bit_rate": ch.codec[2],
        "secure": "",
        "hostname": sw.config.hostname,
        "presence_id": "",
        "presence_data": "",
        "accountcode": "",
        "callstate": ch.callstate,
        "callee_name": p.callee_id_name,
        "callee_num": p.callee_id_number,
        "callee_direction": "RECV" if outbound and ch.times["answered"] else "",
        "call_uuid": ch.call_uuid if outbound or ch.bridge_peer else "",
        "sent_callee_name": "",
        "sent_callee_num": "",
        "initial_cid_name": ch.initial["cid_name"] if not outbound else "",
        "initial_cid_num": ch.initial["cid_num"],
        "initial_ip_addr": ch.initial["ip_addr"],
        "initial_dest": ch.initial["dest"],
        "initial_dialplan": ch.initial["dialplan"],
        "initial_context": ch.initial["context"],
    }


def _format(rows: list[dict[str, str]], columns: list[str], as_json: bool) -> str:
    if as_json:
        if not rows:
            return '{"row_count": 0}\n'
        return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
    out = []
    if rows:
        out.append(",".join(columns) + "\n")
        for row in rows:
            out.append(",".join(row[c] for c in columns) + "\n")
    out.append(f"\n{len(rows)} total.\n")
    return "".join(out)


def _live(sw: Switch) -> list[Channel]:
    return sorted(
        (c for c in sw.channels.values() if c.state != "CS_DESTROY"),
        key=lambda c: (c.times["created"], c.session_id),
    )


def _call_row(sw: Switch, ch: Channel) -> dict[str, str] | None:
    """The ``show calls`` row of a channel (None: it is the b-leg of its originator's row)."""
    if ch.bridge_peer is not None and ch.other_type == "originator":
        return None
    a = channel_row(sw, ch)
    row = {c: a[c] for c in CALL_A_COLUMNS}
    peer = ch.bridge_peer if ch.other_type == "originatee" else None
    b = channel_row(sw, peer) if peer is not None else None
    for c in CALL_B_COLUMNS:
        row["b_" + c] = b[c] if b else ""
    row["call_created_epoch"] = str(ch.times["bridged"] // 1_000_000) if b else ""
    return row


def remember_hangup(sw: Switch, ch: Channel) -> None:
    """--show-channels-lag: keep the channel's rows as the core db has them at hang-up (the
    db thread deletes them a while after CHANNEL_DESTROY on a real switch)."""
    lag = sw.config.show_channels_lag
    if lag <= 0:
        return
    now = time.monotonic()
    for uuid in [u for u, (t, _) in sw.lagging.items() if now - t >= lag]:
        del sw.lagging[uuid]
    snap = {
        "key": (ch.times["created"], ch.session_id),
        "channel": channel_row(sw, ch),
        "call": _call_row(sw, ch),
    }
    sw.lagging[ch.uuid] = (now, snap)


def _rows(sw: Switch, kind: str) -> list[dict[str, str]]:
    """Rows of ``show channels`` (kind "channel") or ``show calls`` ("call"): the live
    channels plus, with --show-channels-lag, those that hung up less than that ago."""
    live = _live(sw)
    keyed = []
    for ch in live:
        row = channel_row(sw, ch) if kind == "channel" else _call_row(sw, ch)
        if row is not None:
            keyed.append(((ch.times["created"], ch.session_id), row))
    if sw.lagging:
        now = time.monotonic()
        shown = {ch.uuid for ch in live}
        for uuid, (t, snap) in list(sw.lagging.items()):
            if now - t >= sw.config.show_channels_lag:
                del sw.lagging[uuid]
            elif uuid not in shown and snap[kind] is not None:
                keyed.append((snap["key"], snap[kind]))
    keyed.sort(key=lambda kr: kr[0])
    return [row for _, row in keyed]


def show(sw: Switch, arg: str) -> str:
    words = arg.split()
    as_json = len(words) >= 3 and words[-2].lower() == "as" and words[-1].lower() == "json"
    if as_json:
        words = words[:-2]
    what = words[0].lower() if words else ""
    if what == "channels":
        rows = _rows(sw, "channel")
        if len(words) > 1 and words[1] == "count":
            return f"\n{len(rows)} total.\n"
        return _format(rows, CHANNEL_COLUMNS, as_json)
    if what == "calls":
        rows = _rows(sw, "call")
        cols = CALL_A_COLUMNS + ["b_" + c for c in CALL_B_COLUMNS] + ["call_created_epoch"]
        return _format(rows, cols, as_json)
    if what == "registrations":
        regs = sw.world.registrations() if sw.world is not None else []
        rows = [
            {
                "reg_user": r.ext,
                "realm": r.realm,
                "token": r.call_id,
                "url": f"sofia/internal/sip:{r.ext}@{r.network_ip}:{r.network_port};transport=UDP",
                "expires": str(r.expires_at),
                "network_ip": r.network_ip,
                "network_port": str(r.network_port),
                "network_proto": "udp",
                "hostname": sw.config.hostname,
                "metadata": "",
            }
            for r in regs
        ]
        return _format(rows, REG_COLUMNS, as_json)
    return "-USAGE: " + "codec|endpoint|application|api|calls|channels|registrations|status\n"


def status(sw: Switch) -> str:
    n = len(_live(sw))
    return (
        f"UP {sw.uptime_text()}\n"
        f"FreeSWITCH (Version {FS_VERSION}) is ready\n"
        f"{sw.session_counter} session(s) since startup\n"
        f"{n} session(s) - peak {sw.peak}, last 5min {sw.peak} \n"
        f"0 session(s) per Sec out of max 200, peak {sw.peak}, last 5min {sw.peak} \n"
        f"{sw.config.max_sessions} session(s) max\n"
        "min idle cpu 0.00/97.70\n"
        "Current Stack Size/Max 240K/8192K\n"
    )


SOFIA_STATUS = (
    "                     Name\t   Type\t                                      Data\tState\n"
    "=================================================================================================\n"
    "                127.0.0.1\t  alias\t                                  internal\tALIASED\n"
    "                 external\tprofile\t              sip:mod_sofia@127.0.0.1:5080\tRUNNING (0)\n"
    "                 internal\tprofile\t              sip:mod_sofia@127.0.0.1:5060\tRUNNING (0)\n"
    "=================================================================================================\n"
    "2 profiles 1 alias\n"
)
