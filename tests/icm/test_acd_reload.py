"""A queue or agent reload (the admin saved it) reads the database in the command greenlet:
the consumer, which dispatches callers, only applies what was read; a refusal names why."""

from __future__ import annotations

import gevent
import pytest

from icm.bus.commands import CommandError
from icm.daemon.acd.contract import contract
from icm.daemon.acd.messages import AcdRequest
from icm.daemon.acd.runtime import AcdRuntime
from icm.domain.acd.model import QueuePolicy
from icm.domain.acd.strategies import InvalidPolicy


def _runtime(posted: list[object], **loaders) -> AcdRuntime:
    return AcdRuntime(
        "sw",
        bgapi=lambda command: "",
        post=posted.append,
        on_agent_change=lambda change: None,
        on_contact_finished=lambda finished, data: None,
        **loaders,
    )


def _commands(runtime: AcdRuntime, posted: list[object]):
    return contract(runtime, posted.append, 1.0, lambda request: False).commands


def test_a_bad_policy_is_refused_with_its_reason_before_reaching_the_consumer():
    def bad(name: str) -> QueuePolicy:
        raise InvalidPolicy("ring_timeout must be a positive number")

    posted: list[object] = []
    commands = _commands(_runtime(posted, load_policy=bad), posted)
    with pytest.raises(CommandError, match="ring_timeout must be a positive number"):
        commands["reload_queue"]({"queue": "support"})
    with pytest.raises(CommandError, match="unknown or inactive"):
        commands["reload_agent"]({"agent": "ghost"})
    assert posted == []


def test_the_consumer_applies_what_the_command_greenlet_read():
    reads: list[str] = []

    def load_policy(name: str) -> QueuePolicy:
        reads.append(name)
        return QueuePolicy(name, "round_robin", {"sales": 1})

    posted: list[object] = []
    runtime = _runtime(posted, load_policy=load_policy)
    runtime.configure([QueuePolicy("support", "longest_idle", {"sales": 1})], [])
    before = runtime.acd.policies["support"].version

    def consumer() -> None:  # the consumer greenlet: must not read the database
        while not posted:
            gevent.sleep(0.01)
        request = posted.pop()
        assert isinstance(request, AcdRequest) and "policy" in request.loaded
        runtime.load_policy = lambda name: pytest.fail("the consumer read the database")
        runtime.request(request)

    worker = gevent.spawn(consumer)
    _commands(runtime, posted)["reload_queue"]({"queue": "support"})
    worker.get(timeout=5)
    assert reads == ["support"]
    assert runtime.acd.policies["support"].strategy == "round_robin"
    assert runtime.acd.policies["support"].version == before + 1
