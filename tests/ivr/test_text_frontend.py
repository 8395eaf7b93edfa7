"""Every node type run through the text front-end (IVR-9): what the user reads, what the
run waits for, and what happens to the contact at the end."""

from __future__ import annotations

import pytest

from ivr.engine.interpreter import FlowNotFound, Interpreter, Run
from ivr.engine.text import TextConversation
from ivr.engine.validation import validate

from .flows import MemoryFlows, StubServices


def chat(graph, services=None, variables=None, others=None):
    validate(graph, "main", {})
    flows = MemoryFlows({"main": graph, **(others or {})})
    conversation = TextConversation(Interpreter(flows), services or StubServices())
    run, reply = conversation.start("main", variables or {"ani": "5550101", "dnis": "8000"})
    return conversation, run, reply


def queue(name="support", **extra):
    return {"type": "enter_queue", "queue": name, **extra}


def test_play_says_text_file_transcript_and_values():
    graph = {
        "start": "p",
        "nodes": {
            "p": {
                "type": "play",
                "prompts": [
                    {"file": "ivr/welcome.wav", "text": "Welcome to Acme."},
                    {"text": "You are caller {ani}."},
                    {"say": "number", "value": "40 + 2"},
                ],
                "exits": {"next": "q"},
            },
            "q": queue(),
        },
    }
    _, run, reply = chat(graph)
    assert reply.messages[:3] == ["Welcome to Acme.", "You are caller 5550101.", "42"]
    assert reply.outcome["action"] == "enter_queue" and run.finished


def test_menu_routes_on_the_choice_and_retries_invalid_input():
    graph = {
        "start": "m",
        "nodes": {
            "m": {
                "type": "menu",
                "prompt": "Press 1 for sales, 2 for support.",
                "retries": 2,
                "exits": {"1": "sales", "2": "support", "invalid": "bye"},
            },
            "sales": queue("sales"),
            "support": queue("support"),
            "bye": {"type": "hangup", "text": "Goodbye."},
        },
    }
    conversation, run, reply = chat(graph)
    assert reply.waiting_for == "choice" and reply.choices == ("1", "2", "invalid")[:2]
    reply = conversation.answer(run, "7")
    assert reply.messages == [
        "Sorry, that is not a valid choice.",
        "Press 1 for sales, 2 for support.",
    ]
    reply = conversation.answer(run, "2")
    assert reply.outcome["params"]["queue"] == "support"

    conversation, run, _ = chat(graph)
    conversation.answer(run, "9")
    reply = conversation.answer(run, "9")  # second invalid try: the invalid exit
    assert reply.messages[0] == "Goodbye." and reply.outcome["action"] == "hangup"


def test_menu_timeout_takes_the_timeout_exit_after_its_tries():
    graph = {
        "start": "m",
        "nodes": {
            "m": {
                "type": "menu",
                "prompt": "Choose.",
                "retries": 1,
                "exits": {"1": "a", "timeout": "b"},
            },
            "a": queue("a"),
            "b": queue("b"),
        },
    }
    conversation, run, _ = chat(graph)
    assert conversation.answer(run, "").outcome["params"]["queue"] == "b"


def test_collect_stores_digits_checks_length_and_pattern():
    graph = {
        "start": "c",
        "nodes": {
            "c": {
                "type": "collect",
                "prompt": "Your account number, then hash.",
                "variable": "account",
                "min_digits": 4,
                "max_digits": 8,
                "pattern": "[0-9]+",
                "exits": {"next": "say"},
            },
            "say": {"type": "play", "text": "Account {account}.", "exits": {"next": "q"}},
            "q": queue(attach=["account"]),
        },
    }
    conversation, run, reply = chat(graph)
    assert reply.waiting_for == "digits"
    reply = conversation.answer(run, "12")  # too short: asked again
    assert reply.messages[0] == "Sorry, that is not a valid choice." and not run.finished
    reply = conversation.answer(run, "1234#")
    assert reply.messages[0] == "Account 1234."
    assert reply.outcome["variables"] == {"account": "1234"}


def test_collect_with_no_valid_input_and_no_exit_takes_the_flow_default_route():
    graph = {
        "start": "c",
        "on_error": "sorry",
        "nodes": {
            "c": {
                "type": "collect",
                "prompt": "Number?",
                "variable": "n",
                "retries": 1,
                "exits": {"next": "q"},
            },
            "q": queue(),
            "sorry": {"type": "enter_queue", "queue": "operator"},
        },
    }
    conversation, run, _ = chat(graph)
    reply = conversation.answer(run, "")
    assert reply.outcome["params"]["queue"] == "operator"
    assert "no valid input" in run.last_error


def test_record_takes_the_typed_message():
    graph = {
        "start": "r",
        "nodes": {
            "r": {
                "type": "record",
                "text": "Tell us about your problem.",
                "variable": "memo",
                "exits": {"next": "q"},
            },
            "q": queue(),
        },
    }
    conversation, run, reply = chat(graph)
    assert reply.waiting_for == "message"
    reply = conversation.answer(run, "  my router is broken ")
    assert reply.outcome["variables"]["memo"] == "my router is broken"


def test_set_condition_and_goto():
    graph = {
        "start": "s",
        "nodes": {
            "s": {"type": "set", "variable": "n", "value": "len(ani) * 2", "exits": {"next": "c"}},
            "c": {
                "type": "condition",
                "expression": "n > 10",
                "exits": {"true": "g", "false": "f"},
            },
            "g": {"type": "goto", "exits": {"next": "t"}},
            "t": queue("long"),
            "f": queue("short"),
        },
    }
    _, _, reply = chat(graph)
    assert reply.outcome["params"]["queue"] == "long"
    assert reply.outcome["variables"]["n"] == 14


def test_switch_on_a_value_with_default():
    graph = {
        "start": "w",
        "nodes": {
            "w": {
                "type": "switch",
                "value": "customer_grade",
                "exits": {"vip": "v", "gold": "g", "default": "d"},
            },
            "v": queue("vip"),
            "g": queue("gold"),
            "d": queue("support"),
        },
    }
    _, _, reply = chat(graph, variables={"customer_grade": "gold"})
    assert reply.outcome["params"]["queue"] == "gold"
    _, _, reply = chat(graph, variables={"customer_grade": "bronze"})
    assert reply.outcome["params"]["queue"] == "support"


def test_schedule_open_and_closed():
    graph = {
        "start": "h",
        "nodes": {
            "h": {
                "type": "schedule",
                "schedule": "Office hours",
                "exits": {"open": "day", "closed": "night"},
            },
            "day": queue("support"),
            "night": {"type": "voicemail", "mailbox": "night"},
        },
    }
    _, _, reply = chat(graph, StubServices(schedules={"Office hours": True}))
    assert reply.outcome["action"] == "enter_queue"
    _, _, reply = chat(graph, StubServices(schedules={"Office hours": False}))
    assert reply.outcome == {
        "action": "voicemail",
        "params": {"mailbox": "night", "max_seconds": 120},
        "variables": {},
        "error": "",
    }
    assert reply.messages[0] == "Please leave a message after the tone."


def test_lookup_fills_variables_speaks_them_and_takes_not_found_and_error():
    graph = {
        "start": "l",
        "nodes": {
            "l": {
                "type": "lookup",
                "connector": "balances",
                "params": {"account": "ani"},
                "variable": "balance",
                "outputs": {"name": "holder"},
                "exits": {"next": "say", "not_found": "nf", "error": "err"},
            },
            "say": {
                "type": "play",
                "text": "{holder}, your balance is {balance} dollars.",
                "exits": {"next": "q"},
            },
            "q": queue(),
            "nf": queue("new"),
            "err": queue("fallback"),
        },
    }
    services = StubServices(lookups={"5550101": {"balance": 120.5, "name": "Ann"}})
    _, _, reply = chat(graph, services)
    assert reply.messages[0] == "Ann, your balance is 120.5 dollars."
    assert services.lookup_calls == [("balances", {"account": "5550101"})]
    _, _, reply = chat(graph, services, variables={"ani": "999"})
    assert reply.outcome["params"]["queue"] == "new"
    _, run, reply = chat(graph, StubServices(fail=True))
    assert reply.outcome["params"]["queue"] == "fallback"
    assert "TimeoutError" in run.last_error


def test_icm_value_reads_live_figures():
    graph = {
        "start": "v",
        "nodes": {
            "v": {
                "type": "icm_value",
                "metric": "agents_ready",
                "queue": "support",
                "variable": "ready",
                "exits": {"next": "c"},
            },
            "c": {
                "type": "condition",
                "expression": "ready > 0",
                "exits": {"true": "q", "false": "vm"},
            },
            "q": queue(),
            "vm": {"type": "voicemail", "mailbox": "support"},
        },
    }
    _, _, reply = chat(graph, StubServices(icm={("agents_ready", "support"): 3}))
    assert reply.outcome["action"] == "enter_queue"
    _, _, reply = chat(graph, StubServices(icm={("agents_ready", "support"): 0}))
    assert reply.outcome["action"] == "voicemail"


def test_subflow_call_and_return_share_variables():
    billing = {
        "start": "b",
        "nodes": {
            "b": {"type": "set", "variable": "topic", "value": "'billing'", "exits": {"next": "r"}},
            "r": {"type": "return"},
        },
    }
    graph = {
        "start": "call",
        "nodes": {
            "call": {"type": "subflow", "flow": "billing", "exits": {"next": "q"}},
            "q": queue(attach=["topic"]),
        },
    }
    _, run, reply = chat(graph, others={"billing": billing})
    assert reply.outcome["variables"] == {"topic": "billing"}
    assert run.flow == "main" and not run.stack


def test_a_missing_subflow_takes_the_error_exit():
    graph = {
        "start": "call",
        "nodes": {
            "call": {"type": "subflow", "flow": "nowhere", "exits": {"next": "q", "error": "e"}},
            "q": queue(),
            "e": queue("errors"),
        },
    }
    _, _, reply = chat(graph)
    assert reply.outcome["params"]["queue"] == "errors"


def test_language_select_sets_the_language_and_picks_texts():
    graph = {
        "start": "lang",
        "nodes": {
            "lang": {"type": "language", "languages": ["en", "es"], "exits": {"next": "hi"}},
            "hi": {"type": "play", "text": {"en": "Hello.", "es": "Hola."}, "exits": {"next": "q"}},
            "q": queue(),
        },
    }
    conversation, run, reply = chat(graph)
    assert reply.messages == ["For English press 1.", "For Spanish press 2."]
    reply = conversation.answer(run, "2")
    assert reply.messages[0] == "Hola." and reply.outcome["variables"]["language"] == "es"


def test_enter_queue_with_priority_skills_and_data():
    graph = {
        "start": "q",
        "nodes": {
            "q": {
                "type": "enter_queue",
                "queue": "vip",
                "priority": "5 if customer_grade == 'vip' else 0",
                "skills": {"english": 6},
            }
        },
    }

    _, _, reply = chat(graph, variables={"customer_grade": "vip", "customer_account": "C1"})
    assert reply.outcome["params"] == {"queue": "vip", "priority": 5, "skills": {"english": 6}}
    assert reply.outcome["variables"]["customer_account"] == "C1"


@pytest.mark.parametrize(
    ("kind", "target", "expected"),
    [("extension", "1001", "1001"), ("number", "+{ani}", "+5550101"), ("agent", "a1001", "a1001")],
)
def test_transfer(kind, target, expected):
    graph = {
        "start": "t",
        "nodes": {
            "t": {
                "type": "transfer",
                "kind": kind,
                "target": target,
                "text": "Transferring.",
                "allowed_numbers": ["+5550101", "1001"],
            }  # a target from the call: needed
        },
    }
    _, _, reply = chat(graph)
    assert reply.messages[0] == "Transferring."
    assert reply.outcome["params"] == {"kind": kind, "target": expected}


def test_a_transfer_to_something_not_a_number_fails_safely():
    graph = {
        "start": "t",
        "nodes": {"t": {"type": "transfer", "target": "{caller_name}", "allowed_numbers": "1001"}},
    }
    _, run, reply = chat(graph, variables={"caller_name": "1001 &bridge(x)"})
    assert reply.outcome["action"] == "hangup" and "not a number" in run.last_error
    assert reply.messages[0].startswith("We are sorry")


def test_hangup_says_goodbye():
    graph = {"start": "h", "nodes": {"h": {"type": "hangup", "text": "Goodbye."}}}
    _, _, reply = chat(graph)
    assert reply.messages[0] == "Goodbye." and reply.outcome["action"] == "hangup"


def test_a_failing_expression_at_run_time_takes_the_default_route():
    graph = {
        "start": "c",
        "on_error": "q",
        "nodes": {
            "c": {
                "type": "condition",
                "expression": "int(caller_name) > 3",
                "exits": {"true": "q", "false": "q"},
            },
            "q": queue("fallback"),
        },
    }
    _, run, reply = chat(graph, variables={"caller_name": "Bob"})
    assert reply.outcome["params"]["queue"] == "fallback" and "failed" in run.last_error


def test_a_failure_without_any_route_apologises_and_hangs_up():
    graph = {
        "start": "c",
        "nodes": {
            "c": {
                "type": "condition",
                "expression": "1 / len(caller_name) > 0",
                "exits": {"true": "q", "false": "q"},
            },
            "q": queue(),
        },
    }
    _, _, reply = chat(graph, variables={"caller_name": ""})
    assert reply.outcome["action"] == "hangup"
    assert reply.messages[0].startswith("We are sorry")


def test_runs_serialise_and_resume_where_they_were():
    graph = {
        "start": "c",
        "nodes": {
            "c": {"type": "collect", "prompt": "Number?", "variable": "n", "exits": {"next": "q"}},
            "q": queue(attach=["n"]),
        },
    }
    conversation, run, _ = chat(graph)
    restored = Run.from_dict(run.to_dict())
    assert conversation.answer(restored, "55#").outcome["variables"] == {"n": "55"}


def test_a_run_keeps_its_version_when_a_new_one_is_published():
    v1 = {
        "start": "m",
        "nodes": {"m": {"type": "menu", "prompt": "1?", "exits": {"1": "q"}}, "q": queue("old")},
    }
    v2 = {
        "start": "m",
        "nodes": {"m": {"type": "menu", "prompt": "1?", "exits": {"1": "q"}}, "q": queue("new")},
    }
    flows = MemoryFlows({"main": v1})
    conversation = TextConversation(Interpreter(flows), StubServices())
    run, _ = conversation.start("main")
    flows.publish("main", v2)
    later, _ = conversation.start("main")
    assert conversation.answer(run, "1").outcome["params"]["queue"] == "old"
    assert conversation.answer(later, "1").outcome["params"]["queue"] == "new"


def test_a_flow_with_no_published_version_is_refused():
    with pytest.raises(FlowNotFound):
        Interpreter(MemoryFlows({})).start("ghost")
