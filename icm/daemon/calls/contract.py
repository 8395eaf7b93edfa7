"""The calls feature's contract: call control on any live call, the switch's directory cache,
and agents' own call actions (answer, dial, hold, transfer, consult …)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from icm.daemon.acd.agent_calls import ACTIONS, AgentCallControl
from icm.daemon.calls.commands import CallCommands
from icm.daemon.feature import Contract
from icm.domain import commands as cmd

log = logging.getLogger(__name__)


def contract(
    switch: str,
    calls: CallCommands,
    agent_calls: AgentCallControl,
    api: Callable[[cmd.SwitchCommand], str],
) -> Contract:
    def flush_directory(args: dict[str, Any]) -> dict[str, Any]:
        """An extension changed: the switch forgets its cached directory entry (users are
        served `cacheable`, so offers need no fetch), and fetches it again when next used."""
        user, domain = str(args.get("user", "")), str(args.get("domain", ""))
        reply = api(cmd.FlushDirectoryUser(user, domain))
        log.info("icm %s: directory entry %s@%s flushed (%s)", switch, user, domain, reply)
        return {"reply": reply}

    def job_done(job_uuid: str, result: str) -> bool:
        calls.job_done(job_uuid, result)
        return True  # the last to look: nobody else's

    return Contract(
        "calls",
        commands={**calls.handlers(), "flush_directory": flush_directory},
        job_done=job_done,
        agent_actions={name: agent_calls.run for name in ACTIONS},
    )
