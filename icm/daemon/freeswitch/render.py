"""The FreeSWITCH adapter's one way out: every ESL command icm sends is rendered here.

A domain command (`icm.domain.commands`) names what to do with plain values; `render` turns
it into the exact text of ONE ESL frame: `api …`, `bgapi …` with our Job-UUID, an outbound
session's `sendmsg` that executes one application, or `sendevent` (a MESSAGE_WAITING event
fired into the switch: mod_sofia notifies the phone). Each argument is checked by its kind —
uuid, cause, extension, number, endpoint, context, file or stream, variable name and value,
DTMF digits, free text — and a value that does not fit raises `UnsafeArgument`; free text
(what TTS speaks) is cleaned instead of refused. No rendered line ever holds a CR or LF, so
one command is exactly one frame on the wire, whatever a caller, an agent or a web user typed
(a Unique-ID of `x\\n\\napi system …` cannot become a second command).

Nothing outside `icm/daemon/freeswitch/` writes ESL text:
`tests/security/test_esl_rendering.py` scans
the source for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from icm.daemon.switch import CommandRefused
from icm.domain import commands as cmd


class UnsafeArgument(CommandRefused):
    """A value that would break out of an ESL command line (spaces, newlines, braces …)."""


class Via(StrEnum):
    """How a rendered command travels: its reply in the command's answer (api), as a
    BACKGROUND_JOB with our Job-UUID (bgapi), or an application on a channel (sendmsg)."""

    API = "api"
    BGAPI = "bgapi"
    SENDMSG = "sendmsg"


# --- argument kinds ------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CAUSE = re.compile(r"[A-Z][A-Z0-9_]{1,47}")
_EXTENSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
_DOMAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # gateway, context, room, profile, module
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DIGITS = re.compile(r"[0-9*#A-Da-d]{1,64}")
_LANGUAGE = re.compile(r"[a-z]{2}(?:[-_][A-Za-z]{2})?")
_WORD = re.compile(r"[A-Za-z][A-Za-z_]{0,31}")
_SAY_VALUE = re.compile(r"[0-9.-]{1,32}")
_TERMINATORS = re.compile(r"none|[0-9*#]{1,3}")
_PATH = re.compile(r"[A-Za-z0-9_./@+=:-]{1,512}")
_STREAM = re.compile(
    r"local_stream://[A-Za-z0-9_.-]{1,64}"
    r"|silence_stream://-?[0-9]{1,7}"
    r"|tone_stream://[0-9%(),;=.a-z-]{1,200}"
)
_DIGITS_REGEX = re.compile(r"[0-9*#\[\]+|-]{1,40}")
# a variable's value: printable, no line breaks, no `$` (expansion), no quote, backslash or
# brace (argument and `{…}` syntax), at most 12 KiB (base64 of a flow's 8 KiB of data)
_VALUE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f$'\"\\{}\[\]^`]")
# what free text may keep: letters, digits, blanks and plain punctuation
_SPOKEN = re.compile(r"[^\w .,;:?%+\-/@&()=#*]", re.UNICODE)


def _fit(pattern: re.Pattern[str], value: object, what: str) -> str:
    text = str(value)
    if not pattern.fullmatch(text):
        raise UnsafeArgument(f"refusing {what} {text[:80]!r}")
    return text


def uuid(value: object) -> str:
    return _fit(_UUID, value, "uuid")


def is_uuid(value: str) -> bool:
    """A channel UUID as FreeSWITCH writes it (36 characters, hex and dashes)."""
    return bool(_UUID.fullmatch(value))


def cause(value: object) -> str:
    return _fit(_CAUSE, value, "hang-up cause")


def extension(value: object) -> str:
    return _fit(_EXTENSION, value, "extension")


def number(value: object) -> str:
    return _fit(_NUMBER, value, "number")


def name(value: object, what: str = "name") -> str:
    return _fit(_NAME, value, what)


def variable(value: object) -> str:
    return _fit(_VARIABLE, value, "variable name")


def digits(value: object) -> str:
    return _fit(_DIGITS, value, "DTMF digits")


def integer(value: object, what: str, low: int = 0, high: int = 10**7) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UnsafeArgument(f"refusing {what} {value!r}")
    return str(value)


def path(value: object) -> str:
    """A file the switch reads or writes: plain characters, no `..`."""
    text = _fit(_PATH, value, "file path")
    if ".." in text or text.startswith("-"):
        raise UnsafeArgument(f"refusing file path {text[:80]!r}")
    return text


def sound(value: object) -> str:
    """A file (see `path`) or a stream (`local_stream://moh`, `tone_stream://…`)."""
    text = str(value)
    if _STREAM.fullmatch(text):
        return text
    return path(text)


def value(text: object) -> str:
    """A channel variable's value."""
    text = str(text)
    if len(text) > 12_288 or _VALUE_FORBIDDEN.search(text):
        raise UnsafeArgument(f"refusing variable value {text[:80]!r}")
    return text


def free_text(text: object) -> str:
    """Text to be spoken: anything goes in, only letters, digits, blanks and plain
    punctuation come out (no `$`, braces, quotes, `|`, `!`, line breaks), one line."""
    return " ".join(_SPOKEN.sub(" ", str(text)).split())[:1000]


def endpoint(text: object) -> str:
    """A dial string: `user/<ext>[@<domain>]`, `sofia/gateway/<gw>/<number>`,
    `sofia/<profile>/<ext>@<host>`, `loopback/<ext>[/<context>]`."""
    text = str(text)
    parts = text.split("/")
    match parts:
        case ["user", target]:
            user, at, domain = target.partition("@")
            extension(user)
            if at:
                _fit(_DOMAIN, domain, "domain")
        case ["sofia", "gateway", gateway, dialled]:
            name(gateway, "gateway")
            number(dialled)
        case ["sofia", profile, contact] if "@" in contact:
            name(profile, "profile")
            user, _, host = contact.partition("@")
            extension(user.removeprefix("sip:"))
            _fit(_DOMAIN, host.partition(":")[0], "host")
            if host.count(":") > 1 or (":" in host and not host.partition(":")[2].isdigit()):
                raise UnsafeArgument(f"refusing endpoint {text[:80]!r}")
        case ["loopback", target]:
            extension(target)
        case ["loopback", target, context]:
            extension(target)
            name(context, "context")
        case _:
            raise UnsafeArgument(f"refusing endpoint {text[:80]!r}")
    return text


def variables(pairs: Iterable[tuple[str, str]]) -> str:
    """`{a=1,b='x y'}` (empty when there are none): names and values checked, a value with a
    comma or a blank quoted."""
    rendered = []
    for key, raw in pairs:
        text = value(raw)
        if "," in text or " " in text:
            text = f"'{text}'"
        rendered.append(f"{variable(key)}={text}")
    return "{" + ",".join(rendered) + "}" if rendered else ""


# --- applications ----------------------------------------------------------------------------


def _prompt_sound(parts: tuple[cmd.SoundPart, ...]) -> str:
    """One sound spec for play_and_get_digits: a file, `say:` TTS, or a file_string.

    Inside a file_string every part is opened as a file: FreeSWITCH only understands `say:`
    as the whole argument, so TTS parts there are `tts://engine|voice|text` (seen on a real
    switch: `file_string://say:…!say:…` played nothing)."""
    if len(parts) == 1 and isinstance(parts[0], cmd.SoundText):
        return "say:" + free_text(parts[0].text)
    rendered = []
    for part in parts:
        if isinstance(part, cmd.SoundFile):
            rendered.append(sound(part.path))
        else:
            rendered.append(
                f"tts://{name(part.engine, 'engine')}|{_voice(part.voice)}|{free_text(part.text)}"
            )
    if not rendered:
        return "silence_stream://250"
    return rendered[0] if len(rendered) == 1 else "file_string://" + "!".join(rendered)


def _voice(voice: str) -> str:
    return name(voice, "voice") if voice else ""


def app_of(app: cmd.App) -> tuple[str, str]:
    """An application and its argument."""
    match app:
        case cmd.Answer():
            return "answer", ""
        case cmd.Park():
            return "park", ""
        case cmd.Hangup(cause=why):
            return "hangup", cause(why)
        case cmd.Playback(sound=what):
            return "playback", sound(what)
        case cmd.Speak(engine=engine, voice=voice, text=text):
            return "speak", f"{name(engine, 'engine')}|{_voice(voice)}|{free_text(text)}"
        case cmd.Say(language=language, say_type=say_type, method=method, value=said):
            return "say", (
                f"{_fit(_LANGUAGE, language, 'language')} "
                f"{_fit(_WORD, say_type, 'say type')} {_fit(_WORD, method, 'method')} "
                f"{_fit(_SAY_VALUE, said, 'number to say')}"
            )
        case cmd.PlayAndGetDigits():
            a = app
            return "play_and_get_digits", " ".join(
                (
                    integer(a.min_digits, "minimum digits", 0, 128),
                    integer(a.max_digits, "maximum digits", 1, 128),
                    integer(a.tries, "tries", 1, 20),
                    integer(a.timeout_ms, "time-out", 0, 3_600_000),
                    _fit(_TERMINATORS, a.terminators, "terminators"),
                    f"'{_prompt_sound(a.prompts)}'",
                    sound(a.invalid_sound),
                    variable(a.variable),
                    _fit(_DIGITS_REGEX, a.digits_regex, "digits pattern"),
                    integer(a.digit_timeout_ms, "digit time-out", 0, 3_600_000),
                )
            )
        case cmd.Record(path=where, max_seconds=seconds):
            return "record", f"{path(where)} {integer(seconds, 'recording limit', 1, 86_400)}"
        case cmd.SetVar(name=key, value=raw, export=export):
            return ("export" if export else "set"), f"{variable(key)}={value(raw)}"
        case cmd.UnsetVar(name=key):
            return "unset", variable(key)
        case cmd.SetVars(variables=pairs):
            if not pairs:
                raise UnsafeArgument("multiset needs variables")
            return "multiset", " ".join(
                f"{variable(k)}={_fit(_NAME, v, 'value')}" for k, v in pairs
            )
        case cmd.Transfer(destination=destination, context=context):
            return "transfer", f"{_destination(destination)} XML {name(context, 'context')}"
        case cmd.StartAvmd():
            return "avmd_start", ""
        case cmd.StopAvmd():
            return "avmd_stop", ""
        case cmd.DetectAmd():
            return "amd", ""
        case cmd.Eavesdrop(uuid=leg):
            return "eavesdrop", uuid(leg)
        case cmd.Bridge(endpoint=target, variables=pairs):
            return "bridge", f"{variables(pairs)}{endpoint(target)}"
        case cmd.Socket(address=address):
            host, _, port = address.rpartition(":")
            _fit(_DOMAIN, host, "socket host")
            integer(int(port) if port.isdigit() else -1, "socket port", 1, 65535)
            return "socket", f"{host}:{port} async full"
        case cmd.JoinConference(room=room, profile=profile):
            return "conference", f"{name(room, 'room')}@{name(profile, 'profile')}"
    raise TypeError(f"unknown application {app!r}")


def _destination(text: str) -> str:
    """A dialplan destination: an extension or a number (never an option like `-both`)."""
    if _NUMBER.fullmatch(text):
        return text
    return extension(text)


def _inline(apps: tuple[cmd.App, ...]) -> str:
    """An inline dialplan: `'app:arg,app:arg'` (an argument may hold neither `,` nor `'`)."""
    if not apps:
        raise UnsafeArgument("an inline dialplan needs applications")
    steps = []
    for app in apps:
        app_name, arg = app_of(app)
        if "," in arg or "'" in arg:
            raise UnsafeArgument(f"refusing inline argument {arg[:80]!r}")
        steps.append(f"{app_name}:{arg}" if arg else app_name)
    return "'" + ",".join(steps) + "'"


def _then(apps: tuple[cmd.App, ...]) -> str:
    """What an originated leg runs once answered: `&app(arg)` or an inline dialplan."""
    if len(apps) == 1:
        app_name, arg = app_of(apps[0])
        return f"&{app_name}({arg})"
    return _inline(apps).strip("'") + " inline"


# --- call control ----------------------------------------------------------------------------


def command_to_api(command: cmd.SwitchCommand) -> str:
    """The FreeSWITCH api command line for a domain command (sent with api or bgapi)."""
    match command:
        case cmd.HangupLeg(uuid=leg, cause=why):
            return f"uuid_kill {uuid(leg)} {cause(why)}"
        case cmd.HoldLeg(uuid=leg, hold=hold):
            return f"uuid_hold {uuid(leg)}" if hold else f"uuid_hold off {uuid(leg)}"
        case cmd.OriginateCall():
            return _originate(command)
        case cmd.BridgeLegs(uuid=leg, other=other):
            return f"uuid_bridge {uuid(leg)} {uuid(other)}"
        case cmd.TransferLeg(uuid=leg, destination=destination, context=context, both=both):
            return (
                f"uuid_transfer {uuid(leg)} {'-both ' if both else ''}"
                f"{_destination(destination)} XML {name(context, 'context')}"
            )
        case cmd.TransferInline(uuid=leg, apps=apps, both=both):
            return f"uuid_transfer {uuid(leg)} {'-both ' if both else ''}{_inline(apps)} inline"
        case cmd.ParkLeg(uuid=leg):
            return f"uuid_park {uuid(leg)}"
        case cmd.BreakLeg(uuid=leg, all=everything):
            return f"uuid_break {uuid(leg)}{' all' if everything else ''}"
        case cmd.BroadcastSound(uuid=leg, sound=what):
            return f"uuid_broadcast {uuid(leg)} {sound(what)} aleg"
        case cmd.SetLegVariable(uuid=leg, name=key, value=raw):
            return f"uuid_setvar {uuid(leg)} {variable(key)} {value(raw)}"
        case cmd.KeepIfServerLost(uuid=leg, keep=keep):
            # mod_event_socket reads `socket_resume` when the socket closes (listener_run):
            # true sets the channel to CS_RESET (what it runs stops) and socket_function
            # goes on with the dialplan after the `socket` app; it cannot be undone once the
            # `resume` command is sent, the variable can (a bridged caller must not be reset)
            return f"uuid_setvar {uuid(leg)} socket_resume {'true' if keep else 'false'}"
        case cmd.GetVariable(uuid=leg, name=key):
            return f"uuid_getvar {uuid(leg)} {variable(key)}"
        case cmd.SendDtmf(uuid=leg, digits=keys):
            return f"uuid_send_dtmf {uuid(leg)} {digits(keys)}"
        case cmd.MuteLeg(uuid=leg, mute=mute):
            return (
                f"uuid_audio {uuid(leg)} start read mute 1"
                if mute
                else (f"uuid_audio {uuid(leg)} stop")
            )
        case cmd.PhoneEvent(uuid=leg, event=event):
            if event not in ("talk", "hold"):
                raise UnsafeArgument(f"refusing phone event {event!r}")
            return f"uuid_phone_event {uuid(leg)} {event}"
        case cmd.RecordLeg(uuid=leg, action=action, path=where, limit_seconds=limit):
            if action not in ("start", "stop", "pause", "resume"):
                raise UnsafeArgument(f"refusing record action {action!r}")
            line = f"uuid_record {uuid(leg)} {action} {path(where)}"
            if action == "start" and limit:
                line += f" {integer(limit, 'recording limit', 1, 86_400)}"
            if action == "start" and command.variables:
                line += f" {variables(command.variables)}"
            return line
        case cmd.LegExists(uuid=leg):
            return f"uuid_exists {uuid(leg)}"
        case cmd.ConferenceHangupAll(room=room):
            return f"conference {name(room, 'room')} hup all"
        case cmd.ModuleExists(name=module):
            return f"module_exists {name(module, 'module')}"
        case cmd.GatewayStatus():
            return "sofia xmlstatus gateway"
        case cmd.ShowChannels():
            return "show channels as json"
        case cmd.ShowCalls():
            return "show calls as json"
        case cmd.ShowRegistrations():
            return "show registrations as json"
        case cmd.FlushDirectoryUser(user=user, domain=domain):
            return f"xml_flush_cache id {extension(user)} {_fit(_DOMAIN, domain, 'domain')}"
    raise TypeError(f"unknown switch command {command!r}")


def _originate(command: cmd.OriginateCall) -> str:
    pairs = dict(command.variables)
    if command.uuid:
        pairs["origination_uuid"] = uuid(command.uuid)
    if command.caller_id_number:
        pairs["origination_caller_id_number"] = command.caller_id_number
    if command.caller_id_name:
        pairs["origination_caller_id_name"] = free_text(command.caller_id_name)
    prefix = variables(pairs.items())
    if command.then:
        then = _then(command.then)
    else:
        then = f"{_destination(command.destination)} XML {name(command.context, 'context')}"
    return f"originate {prefix}{endpoint(command.endpoint)} {then}"


def sendevent_lines(command: cmd.MessageWaiting) -> list[str]:
    """`sendevent MESSAGE_WAITING` with the headers mod_sofia's MWI handler reads
    (sofia_presence.c: MWI-Message-Account, MWI-Messages-Waiting; MWI-Voice-Message as
    mod_voicemail writes it: `new/old (urgent new/urgent old)`)."""
    new = integer(command.new, "new messages", 0, 9999)
    old = integer(command.old, "old messages", 0, 9999)
    account = f"sip:{extension(command.user)}@{_fit(_DOMAIN, command.domain, 'domain')}"
    return [
        "sendevent MESSAGE_WAITING",
        f"MWI-Messages-Waiting: {'yes' if command.new else 'no'}",
        f"MWI-Message-Account: {account}",
        f"MWI-Voice-Message: {new}/{old} (0/0)",
    ]


# --- frames ----------------------------------------------------------------------------------


def render(command: cmd.SwitchCommand | cmd.App, via: Via = Via.API, job_uuid: str = "") -> str:
    """The exact ESL frame for `command` (without the blank line that ends it).

    `via` is "api" (reply in the command's answer), "bgapi" (reply as a BACKGROUND_JOB, with
    `job_uuid` when given) or "sendmsg" (an application on an outbound session's call). An
    event to fire (`MessageWaiting`) is always a `sendevent` (its reply is the command's)."""
    if isinstance(command, cmd.MessageWaiting):
        lines = sendevent_lines(command)
    elif via == Via.SENDMSG:
        app_name, arg = app_of(command)  # type: ignore[arg-type]
        lines = ["sendmsg", "call-command: execute", f"execute-app-name: {app_name}"]
        if arg:
            lines.append(f"execute-app-arg: {arg}")
    else:
        lines = [f"{via} {command_to_api(command)}"]  # type: ignore[arg-type]
        if via == Via.BGAPI and job_uuid:
            lines.append(f"Job-UUID: {uuid(job_uuid)}")
    for line in lines:
        if "\r" in line or "\n" in line or "\x00" in line:
            raise UnsafeArgument(f"refusing a line break in {line[:80]!r}")
    return "\n".join(lines)
