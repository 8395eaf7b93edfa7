"""The voice front-end of the IVR interpreter: effects carried out on one outbound-socket
session through greenswitch (playback, speak via TTS, say, play_and_get_digits, record).

Text that reaches the switch (TTS, lookup results, transfer targets) is made safe for an
application argument first: no line breaks (they would end the sendmsg frame), no `${`
(channel-variable expansion), no `'` or `!` (argument quoting and file_string separators).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import gevent
from django.conf import settings

from ivr.engine.effects import (
    CheckSchedule,
    Collect,
    Effect,
    Failed,
    Finished,
    Lookup,
    Play,
    ReadIcm,
    Record,
)
from ivr.engine.interpreter import Interpreter, Run
from ivr.engine.prompts import Prompt
from ivr.engine.text import ask
from ivr.prompts import switch_path

log = logging.getLogger(__name__)
SERVICE_DEADLINE = 12.0  # a look-up never holds a caller longer (connectors' own limit is ≤ 10)
APP_TIMEOUT = 120.0  # no prompt or recording runs longer: a stuck switch ends the session
DIGITS_VARIABLE = "ipbx_ivr_digits"
SAY_TYPES = {  # our say type -> mod_say type and method
    "number": ("NUMBER", "pronounced"),
    "digits": ("NUMBER", "iterated"),
    "currency": ("CURRENCY", "pronounced"),
    "date": ("CURRENT_DATE", "pronounced"),
    "time": ("CURRENT_TIME", "pronounced"),
}
BEEP = "tone_stream://%(500,0,800)"


_SPOKEN = re.compile(r"[^\w .,;:?%+\-/@&()=#*]", re.UNICODE)


def safe_text(text: str) -> str:
    """Text fit to be spoken inside an application argument: an allow-list of letters,
    digits, blanks and plain punctuation. Everything else goes — `$`, braces (channel
    variable and API expansion), quotes and backslashes (argument quoting), `!`
    (file_string separators), line breaks (they would end the sendmsg frame)."""
    return " ".join(_SPOKEN.sub(" ", str(text)).split())[:1000]


_WORD = re.compile(r"[A-Za-z0-9_.:/\-]+")


def safe_word(value: str, what: str = "value") -> str:
    """One argument token (a path, a cause, a language): refused unless it is plain."""
    value = str(value)
    if not _WORD.fullmatch(value) or ".." in value or len(value) > 200:
        raise ValueError(f"unsafe {what} {value!r}")
    return value


class VoiceFrontend:
    """Runs one flow on one call: each effect becomes switch applications."""

    def __init__(
        self,
        session: Any,  # greenswitch OutboundSession
        call_uuid: str,
        services: Any,  # ivr.engine.text.Services
        voices: dict[str, str] | None = None,  # language -> "engine|voice" (IVR_TTS_VOICES)
        on_step: Callable[[Run], None] | None = None,
    ) -> None:
        self.session = session
        self.call_uuid = call_uuid
        self.services = services
        self.voices = voices or {"default": "flite|kal"}
        self.tts_engine, self.tts_voice = self._voice("")
        self.on_step = on_step

    def _voice(self, language: str) -> tuple[str, str]:
        spec = self.voices.get(language) or self.voices.get("default") or "flite|kal"
        engine, _, voice = spec.partition("|")
        return engine, voice

    def _use_language(self, run: Run) -> None:
        """Speak in the caller's language: switch the TTS voice when it changes."""
        engine, voice = self._voice(str(run.variables.get("language") or ""))
        if (engine, voice) != (self.tts_engine, self.tts_voice):
            self.tts_engine, self.tts_voice = engine, voice
            self.session.call_command("multiset", f"tts_engine={engine} tts_voice={voice}")

    def run(self, interpreter: Interpreter, flow: str, variables: dict[str, Any]) -> Finished:
        """Run `flow` to its end; returns what happens to the call next (its prompts said)."""
        self.session.call_command(
            "multiset", f"tts_engine={self.tts_engine} tts_voice={self.tts_voice}"
        )
        run, effect = interpreter.start(flow, variables)
        log.info("call %s: flow %s v%s started", self.call_uuid, run.flow, run.version)
        while not isinstance(effect, Finished):
            result = self.carry_out(effect, run)
            effect = interpreter.resume(run, result)
            if self.on_step is not None:
                self.on_step(run)
        if run.last_error:
            log.warning("call %s: flow %s: %s", self.call_uuid, run.flow, run.last_error)
        self._use_language(run)
        self.say(effect.prompts, run)
        log.info("call %s: flow %s v%s finished: %s %s", self.call_uuid, run.flow, run.version,
                 effect.action, effect.params)  # fmt: skip
        return effect

    def carry_out(self, effect: Effect, run: Run) -> Any:
        self._use_language(run)
        if isinstance(effect, Play):
            self.say(effect.prompts, run)
            return None
        if isinstance(effect, Collect):
            return self.collect(effect, run)
        if isinstance(effect, Record):
            return self.record(effect, run)
        if isinstance(effect, Lookup | ReadIcm | CheckSchedule):
            return self.ask_service(effect)
        raise TypeError(f"unknown effect {effect!r}")

    # --- media ---------------------------------------------------------------------------
    def _app(self, app: str, arg: str) -> Any:
        return self.session.call_command(app, arg, block=True, response_timeout=APP_TIMEOUT)

    def say(self, prompts: tuple[Prompt, ...], run: Run) -> None:
        language = str(run.variables.get("language") or "en")
        for prompt in prompts:
            if prompt.kind == "file":
                self._app("playback", safe_word(switch_path(prompt.value), "prompt file"))
            elif prompt.kind == "say":
                say_type, method = SAY_TYPES[prompt.say_type]
                value = re.sub(r"[^0-9.\-]", "", _say_value(prompt))[:32] or "0"
                lang = language[:2] if re.fullmatch(r"[a-z]{2}", language[:2]) else "en"
                self._app("say", f"{lang} {say_type} {method} {value}")
            else:
                log.info("call %s: speak %r", self.call_uuid, prompt.value)
                self._app("speak", f"{self.tts_engine}|{self.tts_voice}|{safe_text(prompt.value)}")

    def _sound(self, prompts: tuple[Prompt, ...]) -> str:
        """One sound spec for play_and_get_digits: a file, `say:` TTS, or a file_string.

        Inside a file_string every part is opened as a file: FreeSWITCH only understands
        `say:` as the whole argument, so TTS parts there are `tts://engine|voice|text`
        (seen on a real switch: `file_string://say:…!say:…` played nothing)."""
        if len(prompts) == 1 and prompts[0].kind != "file":
            return "say:" + safe_text(prompts[0].value)
        parts = []
        for prompt in prompts:
            if prompt.kind == "file":
                parts.append(safe_word(switch_path(prompt.value), "prompt file"))
            else:
                text = safe_text(prompt.value)
                parts.append(f"tts://{self.tts_engine}|{self.tts_voice}|{text}")
        if not parts:
            return "silence_stream://250"
        return parts[0] if len(parts) == 1 else "file_string://" + "!".join(parts)

    def collect(self, effect: Collect, run: Run) -> str:
        terminators = "".join(ch for ch in effect.terminators if ch in "0123456789*#")[:3]
        terminators = terminators or "none"
        arg = (
            f"{effect.min_digits} {effect.max_digits} 1 {int(effect.timeout * 1000)} "
            f"{terminators} '{self._sound(effect.prompts)}' silence_stream://250 "
            f"{DIGITS_VARIABLE} [0-9*#]+ {int(effect.digit_timeout * 1000)}"
        )
        event = self._app("play_and_get_digits", arg)
        headers = getattr(event, "headers", None) or {}
        # read_result is set by every try; the digits variable may hold an older answer
        ok = headers.get("variable_read_result") == "success"
        digits = str(headers.get(f"variable_{DIGITS_VARIABLE}") or "") if ok else ""
        log.info("call %s: node %s collected %r", self.call_uuid, run.node, digits)
        return digits

    def record(self, effect: Record, run: Run) -> str:
        self.say(effect.prompts, run)
        self._app("playback", BEEP)
        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S")
        # absolute, in the storage the switch and the catalogue share: FreeSWITCH would put a
        # relative path under its sound_prefix (the prompts), not with the recordings
        path = safe_word(f"{settings.IPBX_RECORDINGS_DIR}/ivr/{effect.name}-{self.call_uuid}-"
                         f"{stamp}.wav", "recording path")  # fmt: skip
        self.session.call_command("record", f"{path} {effect.max_seconds}", block=True,
                                  response_timeout=effect.max_seconds + 30)  # fmt: skip
        log.info("call %s: recorded %s", self.call_uuid, path)
        return path

    # --- look-ups ------------------------------------------------------------------------
    def ask_service(self, effect: Lookup | ReadIcm | CheckSchedule) -> Any:
        """The look-up's answer, or Failed: a time-out (a hard wall-clock limit, whatever the
        back-end does), an error, an open circuit or busy database workers."""
        try:
            with gevent.Timeout(SERVICE_DEADLINE, TimeoutError("no answer in time")):
                return ask(self.services, effect)
        except Exception as exc:  # the node's error branch: logged, never silent
            log.warning("call %s: %s failed: %s", self.call_uuid, type(effect).__name__, exc)
            return Failed(f"{type(exc).__name__}: {exc}")


def _say_value(prompt: Prompt) -> str:
    """mod_say wants epoch seconds for dates and times; numbers as they are."""
    if prompt.say_type in ("date", "time"):
        try:
            return str(int(datetime.fromisoformat(prompt.value).timestamp()))
        except ValueError:
            return prompt.value
    return prompt.value
