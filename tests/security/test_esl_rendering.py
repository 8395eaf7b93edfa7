"""Every command leaving icm goes through ONE rendering function (issue 18, finding 1).

- Property: whatever text reaches any argument of any command (uuid, cause, extension,
  endpoint, number, context, file, variable name and value, DTMF digits, free text), the
  rendered bytes are either refused (`UnsafeArgument`) or exactly one ESL frame — read back
  by switchsim's own frame reader — whose command has the intended number of arguments.
- Source scan: no module outside the switch adapter (icm/daemon/freeswitch/) writes ESL text.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icm.daemon.freeswitch.render import UnsafeArgument, render
from icm.domain import commands as cmd
from switchsim.esl_reader import read_command

ROOT = Path(__file__).resolve().parents[2]
LEG = "0b6e4c1a-8f3e-4c55-9f0e-2d7b1c3a4e5f"
JOB = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
# text an attacker picks: line breaks, ESL syntax, quotes, braces, unicode, blanks
hostile = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "x\n\napi system id",
            "1001\r\nbgapi system id",
            "a b",
            "${system(id)}",
            "x'y",
            "-both",
            "{a=b}1001",
            "a,b",
            "../../etc/passwd",
            "1001 XML evil",
            "%0A",
            "x\x00y",
            "sendmsg\ncall-command: execute",
            "user/1001 &system(id)",
            "",
        ]
    ),
)


def split_args(line: str) -> list[str]:
    """Blank-separated words, a '…' group being one (FreeSWITCH's switch_separate_string)."""
    words, word, quoted = [], "", False
    for ch in line:
        if ch == "'":
            quoted = not quoted
            word += ch
        elif ch == " " and not quoted:
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
    if word:
        words.append(word)
    return words


def frames_of(data: bytes) -> list[str]:
    """The command lines switchsim's reader finds in `data` (the bytes icm puts on the wire)."""

    async def read() -> list[str]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        lines = []
        while (command := await read_command(reader)) is not None:
            lines.append(command.line)
        return lines

    return asyncio.run(read())


# (command built from one hostile value, transport, the command's word count or None to
# count the rest-of-line value as one word after `fixed` words)
BUILDERS: dict[str, tuple[Callable[[str], object], str, int]] = {
    "kill uuid": (lambda t: cmd.HangupLeg(t), "api", 3),
    "kill cause": (lambda t: cmd.HangupLeg(LEG, t), "api", 3),
    "bridge": (lambda t: cmd.BridgeLegs(LEG, t), "api", 3),
    "transfer destination": (lambda t: cmd.TransferLeg(LEG, t), "api", 5),
    "transfer context": (lambda t: cmd.TransferLeg(LEG, "1001", t), "api", 5),
    "setvar name": (lambda t: cmd.SetLegVariable(LEG, t, "1"), "api", 4),
    "getvar": (lambda t: cmd.GetVariable(LEG, t), "api", 3),
    "dtmf": (lambda t: cmd.SendDtmf(LEG, t), "api", 3),
    "record path": (lambda t: cmd.RecordLeg(LEG, "start", t, 60), "api", 5),
    "broadcast": (lambda t: cmd.BroadcastSound(LEG, t), "api", 4),
    "conference room": (lambda t: cmd.ConferenceHangupAll(t), "api", 4),
    "module": (lambda t: cmd.ModuleExists(t), "api", 2),
    "flush user": (lambda t: cmd.FlushDirectoryUser(t, "hq.local"), "api", 4),
    "originate endpoint": (lambda t: cmd.OriginateCall(t, then=(cmd.Park(),)), "bgapi", 3),
    "originate user": (lambda t: cmd.OriginateCall(f"user/{t}", then=(cmd.Park(),)), "bgapi", 3),
    "originate gateway number": (
        lambda t: cmd.OriginateCall(f"sofia/gateway/trunk/{t}", uuid=LEG, then=(cmd.Park(),)),
        "bgapi",
        3,
    ),
    "originate caller id": (
        lambda t: cmd.OriginateCall("user/1001", caller_id_number=t, then=(cmd.Park(),)),
        "bgapi",
        3,
    ),
    "originate caller name": (
        lambda t: cmd.OriginateCall("user/1001", caller_id_name=t, then=(cmd.Park(),)),
        "bgapi",
        3,
    ),
    "originate variable": (
        lambda t: cmd.OriginateCall("user/1001", variables={"ipbx_contact": t}, then=(cmd.Park(),)),
        "bgapi",
        3,
    ),
    "originate destination": (lambda t: cmd.OriginateCall("user/1001", t), "bgapi", 5),
    "originate bridge": (
        lambda t: cmd.OriginateCall("user/1001", then=(cmd.Bridge(f"sofia/gateway/gw/{t}"),)),
        "bgapi",
        3,
    ),
    "inline playback": (
        lambda t: cmd.TransferInline(LEG, (cmd.Playback(t), cmd.Hangup())),
        "api",
        4,
    ),
    "inline set": (lambda t: cmd.TransferInline(LEG, (cmd.SetVar("q", t), cmd.Park())), "api", 4),
    "playback": (lambda t: cmd.Playback(t), "sendmsg", 0),
    "speak text": (lambda t: cmd.Speak("flite", "kal", t), "sendmsg", 0),
    "speak voice": (lambda t: cmd.Speak("flite", t, "hello"), "sendmsg", 0),
    "set value": (lambda t: cmd.SetVar("ipbx_queue", t), "sendmsg", 0),
    "transfer app": (lambda t: cmd.Transfer(t), "sendmsg", 0),
    "record app": (lambda t: cmd.Record(t, 60), "sendmsg", 0),
    "hangup app": (lambda t: cmd.Hangup(t), "sendmsg", 0),
    "say value": (lambda t: cmd.Say("en", "NUMBER", "pronounced", t), "sendmsg", 0),
    "collect prompt": (
        lambda t: cmd.PlayAndGetDigits(
            1,
            4,
            1,
            5000,
            "#",
            (cmd.SoundText("flite", "kal", t), cmd.SoundFile("ivr/menu.wav")),
            "v",
            3000,
        ),
        "sendmsg",
        0,
    ),
}
# words in each application's argument (`set` takes the rest of the line as its value,
# `speak` splits `engine|voice|text` at its first two bars)
SENDMSG_ARGS = {
    "playback": 1,
    "transfer": 3,
    "record": 2,
    "hangup": 1,
    "say": 4,
    "play_and_get_digits": 10,
}


def check_one_frame(command: object, via: str, words: int) -> None:
    try:
        frame = render(command, via, JOB if via == "bgapi" else "")  # type: ignore[arg-type]
    except UnsafeArgument:
        return
    assert "\r" not in frame and "\x00" not in frame
    lines = frame.split("\n")
    if via == "sendmsg":
        assert lines[0] == "sendmsg" and len(lines) <= 4
        assert all(": " in line for line in lines[1:])
        app = lines[2].removeprefix("execute-app-name: ")
        arg = lines[3].removeprefix("execute-app-arg: ") if len(lines) == 4 else ""
        if app in SENDMSG_ARGS:
            assert len(split_args(arg)) == SENDMSG_ARGS[app], frame
        elif app == "speak":
            assert arg.count("|") == 2 and arg.split("|")[:2] == ["flite", command.voice], frame
        else:
            assert app == "set" and arg == f"{command.name}={command.value}", frame
    else:
        assert len(lines) == (2 if via == "bgapi" else 1), frame
        verb, _, rest = lines[0].partition(" ")
        assert verb == via
        if not isinstance(command, cmd.SetLegVariable):
            assert len(split_args(rest)) == words, frame
    # the bytes on the wire are exactly one command for the switch's frame reader
    assert frames_of((frame + "\n\n").encode()) == [lines[0]]


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile)
def test_any_text_in_any_argument_is_one_command_or_refused(kind, text):
    build, via, words = BUILDERS[kind]
    check_one_frame(build(text), via, words)


@settings(max_examples=300, deadline=None)
@given(text=hostile)
def test_free_text_is_spoken_cleaned_never_refused(text):
    frame = render(cmd.Speak("flite", "kal", text), "sendmsg")
    arg = frame.split("\n")[3].removeprefix("execute-app-arg: ") if frame.count("\n") == 3 else ""
    spoken = arg.split("|", 2)[2] if arg else ""
    for forbidden in ("$", "{", "}", "'", '"', "\\", "!", "|", "\n", "\r"):
        assert forbidden not in spoken


@pytest.mark.parametrize("value", ["x\n\napi system id", "1001\r\n", "${x}", "a b", "../x"])
def test_the_values_of_the_review_are_refused_where_they_would_have_gone(value):
    for command in (
        cmd.OriginateCall("user/1001", variables={"ipbx_contact": value}, then=(cmd.Park(),)),
        cmd.OriginateCall(f"user/{value}", then=(cmd.Park(),)),
        cmd.BridgeLegs(LEG, value),
        cmd.TransferLeg(value, "1001"),
    ):
        if (
            value in ("a b", "../x")
            and isinstance(command, cmd.OriginateCall)
            and command.variables
        ):
            continue  # a plain value (a blank is quoted), not a break-out
        with pytest.raises(UnsafeArgument):
            render(command, "bgapi")


# --- the source scan ---------------------------------------------------------------------------

ESL_TEXT = re.compile(
    r"(?:api|bgapi) [a-z_]+|sendmsg\b|(?:call-command|execute-app-(?:name|arg)):"
    r"|originate (?:\{|[a-z]+/)|uuid_[a-z_]+(?: |$)|show (?:channels|calls)\b"
    r"|conference \S+ (?:hup|kick|mute|unmute|play|record|stop)\b|sofia (?:xml)?status"
    r"|module_exists |xml_flush_cache |(?:my)?events? (?:json|plain|xml)\b|hupall\b|fsctl "
    r"|sendevent "
)
PRODUCT_DIRS = (
    "icm",
    "agents",
    "supervision",
    "ivr",
    "outbound",
    "recording",
    "stats",
    "fax",
    "ipbx_project",
    "voicemail",
)
ADAPTER = ROOT / "icm" / "daemon" / "freeswitch"


def string_starts(path: Path) -> list[tuple[int, str]]:
    """(line, how the string begins) of every string and f-string in a module, docstrings
    (a string alone as a statement) left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            start = first.value if isinstance(first, ast.Constant) else ""
            found.append((node.lineno, str(start)))
    return found


def test_no_module_outside_the_switch_adapter_writes_esl_command_text():
    offenders = []
    for directory in PRODUCT_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if ADAPTER in path.parents or "migrations" in path.parts:
                continue
            for line, start in string_starts(path):
                text = start.lstrip()
                if ESL_TEXT.match(text):
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {text[:60]}")
    assert not offenders, "ESL text outside icm/daemon/freeswitch/:\n" + "\n".join(offenders)


def test_the_scan_finds_hand_written_esl():
    sample = ROOT / "var" / "scan-sample.py"
    sample.parent.mkdir(exist_ok=True)
    sample.write_text('leg = "x"\nline = f"uuid_kill {leg} NORMAL_CLEARING"\n')
    try:
        assert ESL_TEXT.match([s for _, s in string_starts(sample)][1])
    finally:
        sample.unlink()


def test_no_greenswitch_raw_command_api_is_used_outside_the_adapter():
    offenders = []
    for directory in PRODUCT_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if ADAPTER in path.parents:
                continue
            text = path.read_text()
            for needle in (".call_command(", "session.send(", "driver.api(f", 'bgapi(f"'):
                if needle in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders, offenders
