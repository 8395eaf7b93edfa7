"""Command-line options and run-time configuration of switchsim.

Owns the CLI definition (``python -m switchsim --help``) and the :class:`Config` object
every other module reads its settings from.
"""

from __future__ import annotations

import argparse
import socket
from dataclasses import dataclass, field
from pathlib import Path

HELP_EPILOG = """\
switchsim-only api commands (send them with `api` or `bgapi` on any ESL connection):
  sim_call <ani> <dnis> [key=value ...]   one inbound trunk call into context `public`;
        keys: answer_after=S (delay before the switch routes it), talk=S (talk time once
        bridged), patience=S (hang up after S seconds unless bridged), dtmf=DIGITS
        (digits given to the next digit-collecting app; `random` for random menu choices),
        name=CALLER_ID_NAME, context=CTX.  Replies `+OK <uuid>`.
  sim_load <n> [hold_ms]   n inbound calls as fast as possible: answer, wait hold_ms
        (default 100), hang up. Replies `+OK <n> calls`.
  sim_drop_esl            close every OTHER inbound ESL connection abruptly.
  sim_pause_esl <seconds> send nothing to the other connections for that long.
  sim_hold_esl <seconds>  new inbound ESL connections get no auth/request for that long
        (0 releases them).
  sim_hold_sockets <seconds>   socket apps wait that long before connecting out (0 releases).
  sim_register <ext> [answer|answer:<delay>|noanswer|busy]   register an extension.
  sim_unregister <ext>    unregister it (the phone's REGISTER with Expires: 0).
  sim_expire <ext>        its registration runs out (the phone stopped refreshing):
        sofia::expire, then PRESENCE_IN.
  sim_dtmf <uuid> <digits>   DTMF received from the far end of a channel.
  sim_audio <uuid>        JSON: what uuid_audio set on the channel (read_mute, write_mute,
        read_level, write_level when non-zero), `hears` (sorted uuids whose audio reaches
        it), `hold_music`, `eavesdrop` {target, mux_read, mux_write, bridge_read,
        bridge_write, dtmf} when it eavesdrops, `eavesdroppers` when it is eavesdropped.
  sim_conference [<name>]  a conference room (or every room) as JSON: its members and,
        for each, whom it hears (the others that may speak if it hears, after mutes,
        hold and eavesdroppers; the same model as sim_audio).
  sim_mwi <ext>           JSON: the phone's message-waiting lamp {account, waiting,
        voice, notifies} from the last MESSAGE_WAITING event fired (sendevent).
  sim_stats               channels up, calls, events emitted, ESL connections.
"""


@dataclass
class Config:
    """All settings; built from the CLI by :func:`parse_args`."""

    esl_host: str = "127.0.0.1"
    esl_port: int = 8021
    esl_password: str = "ClueCon"  # noqa: S105 - FreeSWITCH's well-known default
    heartbeat_interval: float = 20.0
    dialplan_path: Path | None = None
    scenario_path: Path | None = None
    demo: bool = False
    outbound_socket: str = "127.0.0.1:8084"
    recordings_dir: Path = field(default_factory=lambda: Path("var/recordings"))
    log_level: str = "INFO"
    playback_seconds: float = 2.0
    local_stream_seconds: float | None = None  # None: as playback_seconds; 0: forever
    gateway_answer_delay: float = 0.5
    hostname: str = field(default_factory=socket.gethostname)
    ipv4: str = "127.0.0.1"
    ipv6: str = "::1"
    max_sessions: int = 2000
    seed: int | None = None
    # behaviours of a real FreeSWITCH (issue 17); see docs/switchsim.md "Real-switch behaviours"
    originate_reply_delay: float = 0.1
    reorder_window: int = 0
    show_channels_lag: float = 0.0
    with_modules: list[str] = field(default_factory=list)
    without_modules: list[str] = field(default_factory=list)
    sounds_dir: Path | None = None
    moh_dir: Path | None = None
    gateways: list[str] = field(default_factory=list)  # --gateway: the configured ones
    fax_time_scale: float = 1.0  # mod_spandsp fax durations × this (1: as captured)
    command_log: Path | None = None  # every inbound ESL command line, appended (tests)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m switchsim",
        description=(
            "switchsim: a FreeSWITCH stand-in speaking the real Event Socket protocol "
            "(inbound ESL server, outbound `socket` sessions, simulated calls)."
        ),
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--esl-host", default="127.0.0.1", help="inbound ESL bind address")
    p.add_argument("--esl-port", type=int, default=8021, help="inbound ESL port (0 = any)")
    p.add_argument("--esl-password", default="ClueCon", help="ESL password")
    p.add_argument(
        "--heartbeat-interval", type=float, default=20.0, help="seconds between HEARTBEAT events"
    )
    p.add_argument("--dialplan", type=Path, help="dialplan TOML (default: built-in)")
    p.add_argument("--scenario", type=Path, help="scenario TOML: extensions, phones, traffic")
    p.add_argument("--demo", action="store_true", help="run the built-in demo scenario")
    p.add_argument(
        "--outbound-socket",
        default="127.0.0.1:8084",
        help="HOST:PORT for the dialplan `socket` app (global var ipbx_outbound)",
    )
    p.add_argument(
        "--recordings-dir", type=Path, default=Path("var/recordings"), help="where WAVs go"
    )
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    p.add_argument(
        "--playback-seconds",
        type=float,
        default=2.0,
        help="duration of playing a sound file whose length is not in its name",
    )
    p.add_argument(
        "--local-stream-seconds",
        type=float,
        default=None,
        help="how long a local_stream:// (music on hold) plays: 0 = until interrupted, as "
        "on FreeSWITCH (default: --playback-seconds)",
    )
    p.add_argument(
        "--gateway-answer-delay",
        type=float,
        default=0.5,
        help="seconds before a sofia/gateway/... leg answers",
    )
    p.add_argument("--hostname", default=socket.gethostname(), help="FreeSWITCH-Hostname")
    p.add_argument("--seed", type=int, help="random seed (reproducible traffic, event reorder)")
    p.add_argument(
        "--originate-reply-delay",
        type=float,
        default=0.1,
        help="seconds between an originated leg's answer and the originate's reply; a leg "
        "bridged/transferred/parked away meanwhile makes it -ERR ORIGINATOR_CANCEL (0: reply "
        "at once, before anything can take the leg)",
    )
    p.add_argument(
        "--reorder-window",
        type=int,
        default=0,
        help="each inbound ESL connection may deliver an event up to N events later than "
        "its Event-Sequence (FreeSWITCH's dispatch threads; seeded by --seed; 0 = in order)",
    )
    p.add_argument(
        "--show-channels-lag",
        type=float,
        default=0.0,
        help="seconds a hung-up channel is still listed by `show channels|calls` (the core "
        "db lags; uuid_exists does not)",
    )
    p.add_argument(
        "--with-module",
        action="append",
        default=[],
        metavar="MOD",
        help="load a module the default set lacks (e.g. mod_amd); repeatable",
    )
    p.add_argument(
        "--without-module",
        action="append",
        default=[],
        metavar="MOD",
        help="do not load a module of the default set (e.g. mod_avmd); repeatable",
    )
    p.add_argument(
        "--sounds-dir",
        type=Path,
        help="$${sounds_dir}: relative sound paths resolve under it and missing files fail "
        "as on FreeSWITCH (default: every file exists)",
    )
    p.add_argument(
        "--moh-dir",
        type=Path,
        help="local_stream://moh's directory: without audio files there is no stream and "
        "playing it fails (default: the stream always exists)",
    )
    p.add_argument(
        "--gateway",
        action="append",
        default=[],
        metavar="NAME",
        help="a configured sofia gateway; repeatable. Once one is given, originates through "
        "any other answer INVALID_GATEWAY (default: every name is a registered gateway)",
    )
    p.add_argument(
        "--fax-time-scale",
        type=float,
        default=1.0,
        help="multiply mod_spandsp fax durations (negotiation, pages, timeouts) by this; 1 = "
        "as captured (2 pages in about 19 s), 0.05 for fast tests",
    )
    p.add_argument(
        "--command-log",
        type=Path,
        help="append every command line received on the inbound event socket to this file "
        "(one JSON string per line): what a client really sent, frame by frame",
    )
    return p


def parse_args(argv: list[str] | None = None) -> Config:
    a = build_parser().parse_args(argv)
    return Config(
        esl_host=a.esl_host,
        esl_port=a.esl_port,
        esl_password=a.esl_password,
        heartbeat_interval=a.heartbeat_interval,
        dialplan_path=a.dialplan,
        scenario_path=a.scenario,
        demo=a.demo,
        outbound_socket=a.outbound_socket,
        recordings_dir=a.recordings_dir,
        log_level=a.log_level.upper(),
        playback_seconds=a.playback_seconds,
        local_stream_seconds=a.local_stream_seconds,
        gateway_answer_delay=a.gateway_answer_delay,
        hostname=a.hostname,
        seed=a.seed,
        originate_reply_delay=max(0.0, a.originate_reply_delay),
        reorder_window=max(0, a.reorder_window),
        show_channels_lag=max(0.0, a.show_channels_lag),
        with_modules=a.with_module,
        without_modules=a.without_module,
        sounds_dir=a.sounds_dir,
        moh_dir=a.moh_dir,
        gateways=a.gateway,
        fax_time_scale=max(0.0, a.fax_time_scale),
        command_log=a.command_log,
    )
