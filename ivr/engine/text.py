"""The text front-end (IVR-9, the old Business Navigator): a published flow run as a chat.

Prompts become messages, digit prompts wait for what the user types, a recording takes
the typed message. Data look-ups, live ICM values and schedules go through the same
Services the voice front-end uses. Used by the flow editor's simulator now, by web chat and
SMS later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .effects import CheckSchedule, Collect, Effect, Failed, Finished, Lookup, Play, ReadIcm, Record
from .interpreter import APOLOGY, Interpreter, Run

KEYS = "0123456789*#"
MAX_EFFECTS_PER_TURN = 100


class Services(Protocol):
    """Look-ups a flow can make; each raises (any exception) when it cannot answer."""

    def lookup(self, connector: str, params: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def icm_value(self, metric: str, queue: str) -> float: ...

    def schedule_open(self, schedule: str) -> bool: ...


@dataclass(slots=True)
class Reply:
    """What the chat shows after a turn, and what it waits for."""

    messages: list[str] = field(default_factory=list)
    waiting_for: str = ""  # "digits", "choice", "message" or "" when finished
    choices: tuple[str, ...] = ()
    outcome: dict[str, Any] | None = None  # when finished: action, params, variables
    node: str = ""


class TextConversation:
    """Drives runs through the text front-end."""

    def __init__(self, interpreter: Interpreter, services: Services) -> None:
        self.interpreter = interpreter
        self.services = services

    def start(self, flow: str, variables: Mapping[str, Any] | None = None) -> tuple[Run, Reply]:
        run, effect = self.interpreter.start(flow, variables)
        return run, self._drive(run, effect)

    def answer(self, run: Run, text: str) -> Reply:
        """The user's next message, for the prompt the run waits on."""
        if run.finished:
            return Reply(["This conversation has ended."])
        node_type = self.interpreter._node(run).get("type")
        if node_type == "record":
            result: Any = text.strip()[:2000]
        else:
            result = "".join(ch for ch in text if ch in KEYS).rstrip("#")[:32]
        return self._drive(run, self.interpreter.resume(run, result))

    def _drive(self, run: Run, effect: Effect) -> Reply:
        reply = Reply()
        for _ in range(MAX_EFFECTS_PER_TURN):
            match effect:
                case Play():
                    reply.messages += [p.as_text() for p in effect.prompts]
                    effect = self.interpreter.resume(run, None)
                case Lookup() | ReadIcm() | CheckSchedule():
                    effect = self.interpreter.resume(run, self._ask_service(effect))
                case Collect():
                    reply.messages += [p.as_text() for p in effect.prompts]
                    reply.waiting_for = "choice" if effect.choices else "digits"
                    reply.choices = effect.choices
                    reply.node = run.node
                    return reply
                case Record():
                    reply.messages += [p.as_text() for p in effect.prompts]
                    reply.waiting_for = "message"
                    reply.node = run.node
                    return reply
                case _:
                    return self._finished(run, effect, reply)
        # a flow that talks on and on without asking anything (play → play → …)
        run.finished = True
        run.last_error = f"more than {MAX_EFFECTS_PER_TURN} prompts without waiting for input"
        reply.messages = reply.messages[:MAX_EFFECTS_PER_TURN]
        return self._finished(
            run, Finished("hangup", {"cause": "NORMAL_TEMPORARY_FAILURE"}, APOLOGY), reply
        )

    def _ask_service(self, effect: Lookup | ReadIcm | CheckSchedule) -> Any:
        try:
            return ask(self.services, effect)
        except Exception as exc:  # every failure takes the node's error branch
            return Failed(f"{type(exc).__name__}: {exc}")

    def _finished(self, run: Run, effect: Finished, reply: Reply) -> Reply:
        reply.messages += [p.as_text() for p in effect.prompts]
        reply.messages.append(describe(effect))
        reply.outcome = {
            "action": effect.action,
            "params": effect.params,
            "variables": effect.variables,
            "error": run.last_error,
        }
        reply.node = run.node
        return reply


def describe(effect: Finished) -> str:
    """The end of a text conversation, in words."""
    p = effect.params
    if effect.action == "enter_queue":
        return f"(You are now waiting for an agent in queue {p['queue']}.)"
    if effect.action == "transfer":
        return f"(Transferring you to {p['kind']} {p['target']}.)"
    if effect.action == "voicemail":
        return f"(Your message will be left in mailbox {p['mailbox']}.)"
    return "(The conversation has ended.)"


def ask(services: Services, effect: Lookup | ReadIcm | CheckSchedule) -> Any:
    """The answer of the service an effect asks for (both front-ends use it)."""
    if isinstance(effect, Lookup):
        return dict(services.lookup(effect.connector, effect.params))
    if isinstance(effect, ReadIcm):
        return services.icm_value(effect.metric, effect.queue)
    return bool(services.schedule_open(effect.schedule))
