"""The voice front-end of the IVR interpreter: effects carried out on one caller's channel
(a `CallSession`: playback, speak via TTS, say, play_and_get_digits, record).

Each effect becomes domain applications (`icm.domain.commands`) run with the session's
`execute`: the adapter's renderer checks every argument (a prompt file, a number to say) and
cleans text to be spoken (no line break, `${`, quote or `!` reaches the switch).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import gevent
from django.conf import settings

from icm.daemon.switch import CallSession
from icm.domain import commands as cmd
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


class VoiceFrontend:
    """Runs one flow on one call: each effect becomes switch applications."""

    def __init__(
        self,
        session: CallSession,
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
            self.session.execute(_voice_vars(engine, voice))

    def run(self, interpreter: Interpreter, flow: str, variables: dict[str, Any]) -> Finished:
        """Run `flow` to its end; returns what happens to the call next (its prompts said)."""
        self.session.execute(_voice_vars(self.tts_engine, self.tts_voice))
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
        log.info(
            "call %s: flow %s v%s finished: %s %s",
            self.call_uuid,
            run.flow,
            run.version,
            effect.action,
            effect.params,
        )
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
    def _app(self, app: cmd.App) -> Any:
        return self.session.execute(app, block=True, timeout=APP_TIMEOUT)

    def say(self, prompts: tuple[Prompt, ...], run: Run) -> None:
        language = str(run.variables.get("language") or "en")
        for prompt in prompts:
            if prompt.kind == "file":
                self._app(cmd.Playback(switch_path(prompt.value)))
            elif prompt.kind == "say":
                say_type, method = SAY_TYPES[prompt.say_type]
                value = re.sub(r"[^0-9.\-]", "", _say_value(prompt))[:32] or "0"
                lang = language[:2] if re.fullmatch(r"[a-z]{2}", language[:2]) else "en"
                self._app(cmd.Say(lang, say_type, method, value))
            else:
                log.info("call %s: speak %r", self.call_uuid, prompt.value)
                self._app(cmd.Speak(self.tts_engine, self.tts_voice, prompt.value))

    def _sound(self, prompts: tuple[Prompt, ...]) -> tuple[cmd.SoundPart, ...]:
        """The prompts of a collect: files and text (spoken by the current voice)."""
        return tuple(
            cmd.SoundFile(switch_path(p.value))
            if p.kind == "file"
            else cmd.SoundText(self.tts_engine, self.tts_voice, p.value)
            for p in prompts
        )

    def collect(self, effect: Collect, run: Run) -> str:
        terminators = "".join(ch for ch in effect.terminators if ch in "0123456789*#")[:3]
        terminators = terminators or "none"
        event = self._app(
            cmd.PlayAndGetDigits(
                min_digits=effect.min_digits,
                max_digits=effect.max_digits,
                tries=1,
                timeout_ms=int(effect.timeout * 1000),
                terminators=terminators,
                prompts=self._sound(effect.prompts),
                variable=DIGITS_VARIABLE,
                digit_timeout_ms=int(effect.digit_timeout * 1000),
            )
        )
        headers = getattr(event, "headers", None) or {}
        # read_result is set by every try; the digits variable may hold an older answer
        ok = headers.get("variable_read_result") == "success"
        digits = str(headers.get(f"variable_{DIGITS_VARIABLE}") or "") if ok else ""
        log.info("call %s: node %s collected %r", self.call_uuid, run.node, digits)
        return digits

    def record(self, effect: Record, run: Run) -> str:
        self.say(effect.prompts, run)
        self._app(cmd.Playback(BEEP))
        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S")
        # absolute, in the storage the switch and the catalogue share: FreeSWITCH would put a
        # relative path under its sound_prefix (the prompts), not with the recordings
        path = f"{settings.IPBX_RECORDINGS_DIR}/ivr/{effect.name}-{self.call_uuid}-{stamp}.wav"
        self.session.execute(
            cmd.Record(path, int(effect.max_seconds)), block=True, timeout=effect.max_seconds + 30
        )
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


def _voice_vars(engine: str, voice: str) -> cmd.SetVars:
    return cmd.SetVars((("tts_engine", engine), ("tts_voice", voice)))


def _say_value(prompt: Prompt) -> str:
    """mod_say wants epoch seconds for dates and times; numbers as they are."""
    if prompt.say_type in ("date", "time"):
        try:
            return str(int(datetime.fromisoformat(prompt.value).timestamp()))
        except ValueError:
            return prompt.value
    return prompt.value
