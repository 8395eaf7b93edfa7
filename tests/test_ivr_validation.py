"""Publish-time flow validation: each invalid-flow kind is refused with the node named."""

import copy

import pytest

from ivr.engine.validation import FlowInvalid, validate

GOOD = {
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "play", "text": "Welcome", "exits": {"next": "menu"}},
        "menu": {
            "type": "menu",
            "prompt": "Press 1 for balance, 2 for an agent",
            "exits": {"1": "account", "2": "queue", "timeout": "queue"},
        },
        "account": {
            "type": "collect",
            "prompt": "Your account number",
            "variable": "account",
            "exits": {"next": "lookup"},
        },
        "lookup": {
            "type": "lookup",
            "connector": "balances",
            "variable": "balance",
            "exits": {"next": "rich", "error": "queue"},
        },
        "rich": {
            "type": "condition",
            "expression": "balance > 1000",
            "exits": {"true": "vip", "false": "queue"},
        },
        "vip": {"type": "enter_queue", "queue": "vip", "priority": "10"},
        "queue": {"type": "enter_queue", "queue": "support"},
    },
}


def broken(change):
    graph = copy.deepcopy(GOOD)
    change(graph)
    return graph


def test_a_good_flow_passes():
    validate(GOOD, "main")


N = "nodes"


@pytest.mark.parametrize(
    ("change", "node", "message"),
    [
        (lambda g: g.update(start="nowhere"), "", "start node 'nowhere' does not exist"),
        (lambda g: g[N]["welcome"].update(type="teleport"), "welcome", "unknown type"),
        (lambda g: g[N]["account"].pop("variable"), "account", "needs parameter 'variable'"),
        (lambda g: g[N]["lookup"]["exits"].pop("error"), "lookup", "exit 'error' leads nowhere"),
        (lambda g: g[N]["rich"]["exits"].update(true="ghost"), "rich", "missing node 'ghost'"),
        (lambda g: g[N].update(orphan={"type": "hangup"}), "orphan", "unreachable"),
        (lambda g: g[N]["rich"].update(expression="salary > 1"), "rich", "unknown variable"),
        (lambda g: g[N]["rich"].update(expression="().__class__"), "rich", "attribute"),
        (lambda g: g[N]["vip"].update(exits={"next": "queue"}), "vip", "has no exits"),
        (lambda g: g[N]["menu"].update(exits={"timeout": "queue"}), "menu", "at least one choice"),
    ],
)
def test_each_problem_is_refused_naming_the_node(change, node, message):
    with pytest.raises(FlowInvalid) as exc:
        validate(broken(change), "main")
    assert any(p.node == node and message in p.message for p in exc.value.problems), exc.value


def test_a_loop_that_never_waits_is_refused():
    def loop(g):
        g[N]["rich"]["exits"]["false"] = "again"
        g[N]["again"] = {"type": "set", "variable": "n", "value": "1", "exits": {"next": "rich"}}

    with pytest.raises(FlowInvalid, match="never waits for input"):
        validate(broken(loop), "main")


def test_a_loop_through_a_prompt_is_fine():
    validate(broken(lambda g: g[N]["rich"]["exits"].update(false="menu")), "main")


def test_sub_flow_cycles_across_flows_are_refused():
    def call_billing(g):
        g[N]["menu"]["exits"]["3"] = "billing"
        g[N]["billing"] = {"type": "subflow", "flow": "billing", "exits": {"next": "queue"}}

    graph = broken(call_billing)
    validate(graph, "main", subflows={"billing": {"refunds"}})
    with pytest.raises(FlowInvalid, match="calls back into 'main'"):
        validate(graph, "main", subflows={"billing": {"refunds"}, "refunds": {"main"}})
