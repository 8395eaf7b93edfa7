"""A queue or agent reload (the admin saved it) reads the database in the command greenlet:
the consumer, which dispatches callers, only applies what was read; a refusal names why."""

from __future__ import annotations

import gevent
import gevent.event
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


def _two_reloads(first_read_finishes_last: bool) -> AcdRuntime:
    """The admin saves a queue twice: round_robin, then longest_idle. Each save sends a
    reload whose read may finish before or after the other's."""
    saved = iter(["round_robin", "longest_idle"])  # the rows each read sees, in start order
    release_first = gevent.event.Event()

    def load_policy(name: str) -> QueuePolicy:
        strategy = next(saved)
        if strategy == "round_robin" and first_read_finishes_last:
            release_first.wait(timeout=5)  # the first read is stuck behind a lock
        return QueuePolicy(name, strategy, {"sales": 1})

    posted: list[object] = []
    runtime = _runtime(posted, load_policy=load_policy)
    runtime.configure([QueuePolicy("support", "ring_all", {"sales": 1})], [])
    reload_queue = _commands(runtime, posted)["reload_queue"]

    def consumer() -> None:
        handled = 0
        while handled < 2:
            while not posted:
                gevent.sleep(0.005)
            runtime.request(posted.pop(0))
            handled += 1
            release_first.set()

    worker = gevent.spawn(consumer)
    first = gevent.spawn(reload_queue, {"queue": "support"})
    gevent.sleep(0)  # the first save's read starts first
    second = gevent.spawn(reload_queue, {"queue": "support"})
    if not first_read_finishes_last:
        first.join(timeout=5)
    gevent.joinall([first, second], timeout=5, raise_error=True)
    worker.get(timeout=5)
    return runtime


@pytest.mark.parametrize("first_read_finishes_last", [False, True])
def test_two_saves_in_a_row_leave_the_last_saved_queue_configuration(first_read_finishes_last):
    runtime = _two_reloads(first_read_finishes_last)
    assert runtime.acd.policies["support"].strategy == "longest_idle"


def test_an_agent_reload_read_that_arrives_late_does_not_undo_a_newer_one():
    rows = iter([({"sales": 1}, "1001"), ({"sales": 1, "billing": 3}, "1001")])
    posted: list[object] = []
    runtime = _runtime(posted, load_agent=lambda agent: next(rows))
    runtime.configure(
        [QueuePolicy("support", "longest_idle", {"sales": 1})], [("ann", {"sales": 1}, "1001")]
    )
    older = runtime.preload("reload_agent", {"agent": "ann"})
    newer = runtime.preload("reload_agent", {"agent": "ann"})
    for loaded in (newer, older):  # the newer read reached the consumer first
        runtime.request(AcdRequest("reload_agent", {"agent": "ann"}, loaded))
    assert runtime.acd.agents["ann"].skills == {"sales": 1, "billing": 3}
