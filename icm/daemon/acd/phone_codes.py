"""Agent feature codes dialled from a desk phone, for agents without the web desktop: *21
sign in, *22 sign out, *23 ready, *24 not ready (the dialplan hands `*2N` to icm's outbound
socket with `ipbx_feature_code=N` and the dialling extension). The agent is the one whose
extension dialled; the answer is a sentence the caller hears before the call ends."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import gevent

from icm.daemon.acd.messages import AcdError, AcdRequest

log = logging.getLogger(__name__)

CODES: dict[str, tuple[str, str]] = {  # code -> (ACD request, what the agent hears)
    "1": ("agent_login", "signed in"),
    "2": ("agent_logout", "signed out"),
    "3": ("agent_ready", "ready"),
    "4": ("agent_not_ready", "not ready"),
}
WAIT_SECONDS = 5.0


def run_phone_code(
    code: str,
    extension: str,
    agents_by_extension: Mapping[str, str],
    post: Callable[[object], None],
) -> str:
    """Carry out feature code `code` for the agent of `extension` (from a caller's greenlet:
    the request is applied by the consumer); the sentence to speak."""
    found = CODES.get(code)
    if found is None:
        log.info("phone %s: unknown feature code *2%s", extension, code)
        return "Unknown feature code."
    agent = agents_by_extension.get(extension, "")
    if not agent:
        log.info("phone %s: feature code *2%s from a phone no agent has", extension, code)
        return "This phone belongs to no agent."
    name, done = found
    request = AcdRequest(name, {"agent": agent})
    post(request)
    try:
        result: dict[str, Any] = request.result.get(timeout=WAIT_SECONDS)
    except AcdError as exc:
        log.info("agent %s: feature code *2%s refused: %s", agent, code, exc)
        return f"Agent {_spelt(agent)}: not done. {exc}."
    except gevent.Timeout:
        log.warning("agent %s: feature code *2%s not answered in time", agent, code)
        return "The system is busy. Please try again."
    log.info("agent %s: feature code *2%s from phone %s: %s", agent, code, extension, done)
    state = str(result.get("state") or "").replace("_", " ")
    if name == "agent_login" and state and state != "ready":
        return f"Agent {_spelt(agent)} {done}. You are {state}."
    return f"Agent {_spelt(agent)} {done}."


def _spelt(agent: str) -> str:
    """An agent ID as a speech engine reads it well: digits one by one."""
    return " ".join(agent) if agent.isdigit() else agent
