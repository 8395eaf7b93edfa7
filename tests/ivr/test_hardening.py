"""What a hostile caller, back-end or flow author could try: switch-argument injection,
expensive expressions, unsafe tokens and patterns, flows that never stop talking, escaping
failures; and the circuit breaker's states."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from icm.daemon.freeswitch.render import UnsafeArgument
from icm.daemon.freeswitch.render import free_text as safe_text
from icm.daemon.freeswitch.render import path as safe_word
from ivr.connectors.http import _fill
from ivr.connectors.registry import Breaker
from ivr.engine.expressions import ExpressionError, check
from ivr.engine.interpreter import Interpreter, _plain
from ivr.engine.text import TextConversation
from ivr.engine.validation import FlowInvalid, validate

from .flows import MemoryFlows, StubServices


@pytest.mark.parametrize(
    "hostile",
    [
        "$'{system(touch /tmp/x)}",
        "${api(system id)}",
        "$${x}",
        "a\nb",
        "bob\\",
        "x'; hangup",
        "one!two",
        "line\r\napi system id",
        'say "x"',
    ],
)
def test_spoken_text_can_neither_expand_nor_break_out(hostile):
    text = safe_text(hostile)
    for forbidden in ("$", "{", "}", "'", '"', "\\", "!", "\n", "\r"):
        assert forbidden not in text
    assert safe_text("Ann Lee, your balance is 120.50 dollars.") == (
        "Ann Lee, your balance is 120.50 dollars."
    )


def test_argument_tokens_refuse_anything_unusual():
    assert safe_word("ivr/welcome.wav") == "ivr/welcome.wav"
    for bad in ("a b", "../etc/passwd", "x\nhangup", "${x}", "a'b"):
        with pytest.raises(UnsafeArgument):
            safe_word(bad)


@pytest.mark.parametrize("expression", ["4000000 ** 4000000", "{1, 2}", "{'a': 1}"])
def test_expensive_or_compound_expressions_are_refused(expression):
    with pytest.raises(ExpressionError):
        check(expression, set())


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"type": "hangup", "cause": "NORMAL_CLEARING\n\napi system id"}, "hang-up cause"),
        (
            {
                "type": "collect",
                "prompt": "x",
                "variable": "v",
                "terminators": "#\n",
                "exits": {"next": "h"},
            },
            "terminators",
        ),
        (
            {
                "type": "collect",
                "prompt": "x",
                "variable": "v",
                "pattern": "(\\d*)*x",
                "exits": {"next": "h"},
            },
            "quantified groups",
        ),
        (
            {
                "type": "collect",
                "prompt": "x",
                "variable": "v",
                "pattern": "[0-9",
                "exits": {"next": "h"},
            },
            "not a valid regex",
        ),
        ({"type": "language", "languages": ["en", "e s"], "exits": {"next": "h"}}, "two-letter"),
        ({"type": "voicemail", "mailbox": "../../etc"}, "mailbox"),
    ],
)
def test_unsafe_tokens_are_refused_at_publish(node, message):
    graph = {"start": "n", "nodes": {"n": node, "h": {"type": "hangup"}}}
    with pytest.raises(FlowInvalid) as exc:
        validate(graph, "f")
    assert any(p.node == "n" and message in p.message for p in exc.value.problems), exc.value


def test_a_node_id_that_is_not_a_plain_token_is_refused():
    graph = {"start": "a b", "nodes": {"a b": {"type": "hangup"}}}
    with pytest.raises(FlowInvalid, match="node id"):
        validate(graph, "f")


def test_a_flow_that_only_talks_is_stopped_in_the_text_front_end():
    graph = {
        "start": "a",
        "nodes": {
            "a": {"type": "play", "text": "a", "exits": {"next": "b"}},
            "b": {"type": "play", "text": "b", "exits": {"next": "a"}},
        },
    }
    conversation = TextConversation(Interpreter(MemoryFlows({"main": graph})), StubServices())
    run, reply = conversation.start("main")
    assert run.finished and reply.outcome["action"] == "hangup"
    assert len(reply.messages) <= 102 and "prompts without waiting" in run.last_error


def test_odd_values_from_back_ends_do_not_break_the_run():
    assert _plain(Decimal("NaN")) == "NaN" and _plain(float("inf")) == "inf"
    assert _plain([1, 2]) == "[1, 2]" and _plain(Decimal("12.50")) == 12.5
    graph = {
        "start": "l",
        "nodes": {
            "l": {
                "type": "lookup",
                "connector": "c",
                "variable": "v",
                "params": {"a": "ani"},
                "exits": {"next": "p", "error": "q"},
            },
            "p": {"type": "play", "text": "Value {v}.", "exits": {"next": "q"}},
            "q": {"type": "enter_queue", "queue": "s"},
        },
    }
    services = StubServices(lookups={"1": {"v": Decimal("NaN")}})
    conversation = TextConversation(Interpreter(MemoryFlows({"main": graph})), services)
    _, reply = conversation.start("main", {"ani": "1"})
    assert reply.messages[0] == "Value NaN." and reply.outcome["action"] == "enter_queue"


def test_a_failure_in_a_sub_flow_reaches_the_calling_flows_default_route():
    sub = {
        "start": "boom",
        "nodes": {
            "boom": {
                "type": "condition",
                "expression": "1 / 0 > 1",
                "exits": {"true": "r", "false": "r"},
            },
            "r": {"type": "return"},
        },
    }
    main = {
        "start": "s",
        "on_error": "operator",
        "nodes": {
            "s": {"type": "subflow", "flow": "sub", "exits": {"next": "q"}},
            "q": {"type": "enter_queue", "queue": "sales"},
            "operator": {"type": "enter_queue", "queue": "operator"},
        },
    }
    flows = MemoryFlows({"main": main, "sub": sub})
    _, reply = TextConversation(Interpreter(flows), StubServices()).start("main")
    assert reply.outcome["params"]["queue"] == "operator"


def test_http_parameters_cannot_climb_the_path():
    assert _fill("https://api.example/a/{p}", {"p": ".."}, True) == "https://api.example/a/%2E%2E"
    assert _fill("https://api.example/a/{p}", {"p": "x/../y"}, True).count("/") == 4


def test_the_breaker_opens_then_lets_one_trial_through():
    breaker = Breaker(fail_max=2, reset_seconds=0.2)
    assert breaker.allow()
    breaker.failed()
    assert breaker.allow() and not breaker.is_open
    breaker.failed()
    assert breaker.is_open and not breaker.allow()
    time.sleep(0.25)
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.succeeded()
    assert breaker.allow() and not breaker.is_open
