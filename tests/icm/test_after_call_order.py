"""The after-call flow (AG-7) starts only when both are true, in whichever order they come:
the agent's leg hung up (the ACD's word, from that leg's events) and the caller's channel was
parked after its bridge (its own CHANNEL_PARK on its socket). A consultation's hold parks the
caller too, and a completed consultation hands it on: neither starts the flow."""

from __future__ import annotations

from typing import Any

import gevent
import pytest

from icm.daemon.acd.waiting_callers import WaitingCallers
from icm.daemon.ivr import queue_wait
from icm.daemon.switch import CallInfo
from icm.domain.acd.model import Contact


class FakeSession:
    """A caller's socket session: records what icm ran, lets the test fire channel events."""

    def __init__(self) -> None:
        self.info = CallInfo("c1", "c1", "8125", "5550301")
        self.up = True
        self.ran: list[Any] = []
        self.bridge_handler = None

    def execute(self, app: Any, block: bool = False, timeout: float | None = None) -> None:
        self.ran.append(app)

    def api(self, command: Any) -> None:
        self.ran.append(command)

    def on_dtmf(self, handler) -> None:
        pass

    def on_back_from_bridge(self, handler) -> None:
        self.bridge_handler = handler


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(queue_wait, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(queue_wait, "BACK_SECONDS", 0.3)


def _waiting_caller() -> tuple[FakeSession, WaitingCallers, gevent.Greenlet]:
    session, waiting = FakeSession(), WaitingCallers(post=lambda item: None)
    contact = Contact("c1", "helpdesk", 0.0, ani="5550301")
    waiter = gevent.spawn(
        queue_wait.wait_in_queue,
        session,
        "sw",
        lambda item: None,
        contact,
        "c1",
        None,
        waiting,
        None,
        "survey",
    )
    gevent.sleep(0.02)
    return session, waiting, waiter


@pytest.mark.parametrize("agent_word_first", [True, False])
def test_the_flow_starts_once_the_agent_left_and_the_caller_is_parked(agent_word_first):
    session, waiting, waiter = _waiting_caller()
    session.bridge_handler(False)  # the ACD bridged the agent
    if agent_word_first:
        waiting.agent_left("c1", "helpdesk")
        gevent.sleep(0.05)
        assert not waiter.ready()  # not yet parked: it waits for the switch
        session.bridge_handler(True)
    else:
        session.bridge_handler(True)
        gevent.sleep(0.05)
        assert not waiter.ready()  # parked, but the agent's word has not come
        waiting.agent_left("c1", "helpdesk")
    exit_ = waiter.get(timeout=2)
    assert (exit_.kind, exit_.target, exit_.queue) == ("after_call", "survey", "helpdesk")


def test_a_consultation_hold_and_hand_over_never_start_the_flow():
    session, waiting, waiter = _waiting_caller()
    session.bridge_handler(False)  # with the agent
    session.bridge_handler(True)  # the agent consults: the caller parked with music
    gevent.sleep(0.05)
    session.bridge_handler(False)  # the consultation completes: bridged to the colleague
    waiting.agent_left("c1", "helpdesk")  # and the agent's leg goes
    gevent.sleep(0.5)  # past BACK_SECONDS: the word is dropped
    assert not waiter.ready()
    session.up = False  # the call ends with the colleague
    assert waiter.get(timeout=2) is None


def test_park_after_bridge_is_asked_of_the_switch_only_for_an_after_call_flow():
    session, waiting, waiter = _waiting_caller()
    names = [
        (type(a).__name__, getattr(a, "name", ""), getattr(a, "value", "")) for a in session.ran
    ]
    assert ("SetVar", "park_after_bridge", "true") in names
    session.up = False
    waiter.get(timeout=2)
    assert waiting._after_call == set()  # forgotten when the wait ends
