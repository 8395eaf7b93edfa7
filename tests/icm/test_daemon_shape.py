"""The daemon's shape (issue 19): every inbox item and bus command reaches a feature, every
agent-call action has exactly one owner, no module grows past 600 lines, no `isinstance`
dispatch chain comes back."""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest

from icm.bus.command_schema import SCHEMAS
from icm.daemon.acd import messages as acd_messages
from icm.daemon.callbacks.booked import CallbackRing
from icm.daemon.campaigns import messages as campaign_messages
from icm.daemon.consults.consultations import ConsultRequest
from icm.daemon.freeswitch.driver import SwitchAddress
from icm.daemon.switch import ResyncReady
from icm.daemon.voicemail.messages import LampChanged
from icm.daemon.wiring import IcmConfig, IcmService
from icm.domain import events as ev
from icm.domain import registrations

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = (
    "accounts",
    "agents",
    "fax",
    "icm",
    "ipbx_project",
    "ivr",
    "outbound",
    "recording",
    "stats",
    "supervision",
    "switchsim",
    "voicemail",
    "bench",
)
MAX_LINES = 600
MAX_ISINSTANCE_BRANCHES = 3


@pytest.fixture(scope="module")
def service() -> IcmService:
    config = IcmConfig(
        switch=SwitchAddress("shape", "127.0.0.1", 1, "ClueCon"),
        redis_url="redis://127.0.0.1:1/0",  # never connected: nothing is started
        outbound_host="127.0.0.1",
        outbound_port=1,
    )
    return IcmService(config)


def _dataclasses_of(module: object) -> list[type]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and dataclasses.is_dataclass(value)
        and value.__module__ == module.__name__  # type: ignore[attr-defined]
    ]


def inbox_items() -> list[type]:
    """Everything any part of the daemon puts in the inbox."""
    return [
        *_dataclasses_of(acd_messages),
        *_dataclasses_of(campaign_messages),
        ConsultRequest,
        CallbackRing,
        LampChanged,
        ResyncReady,
        ev.JobDone,
        ev.GatewayStateChanged,
        ev.RecordingStopped,
        *typing.get_args(registrations.RegistrationEvent),
        *typing.get_args(ev.DomainEvent),
    ]


def test_every_inbox_item_has_a_handler(service):
    unhandled = [
        kind.__name__ for kind in inbox_items() if not service.dispatcher.handlers_for(kind)
    ]
    assert not unhandled, f"no feature handles {unhandled}"


def test_a_legs_answer_and_hangup_go_through_the_ordered_path(service):
    [answered] = service.dispatcher.handlers_for(ev.LegAnswered)
    [hung_up] = service.dispatcher.handlers_for(ev.LegHungUp)
    assert answered == service.calls.answered and hung_up == service.calls.hung_up


def test_every_bus_command_has_exactly_one_feature(service):
    assert set(service.commands.handlers) == set(SCHEMAS)


def test_every_agent_call_action_has_its_feature(service):
    actions = set(SCHEMAS["agent_call"].args["action"].choices)
    assert set(service._agent_actions) == actions


def _product_modules() -> list[Path]:
    return [
        path
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def test_no_module_over_600_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in _product_modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def _isinstance_branches(node: ast.If) -> int:
    """How many branches of this if / elif chain test `isinstance`."""
    count = 0
    while True:
        if any(
            isinstance(n, ast.Call) and getattr(n.func, "id", "") == "isinstance"
            for n in ast.walk(node.test)
        ):
            count += 1
        if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
            node = node.orelse[0]
        else:
            return count


def test_no_isinstance_dispatch_chain():
    chains = []
    for path in _product_modules():
        tree = ast.parse(path.read_text())
        elifs = {
            id(n.orelse[0])
            for n in ast.walk(tree)
            if isinstance(n, ast.If) and len(n.orelse) == 1 and isinstance(n.orelse[0], ast.If)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and id(node) not in elifs:
                branches = _isinstance_branches(node)
                if branches > MAX_ISINSTANCE_BRANCHES:
                    chains.append(f"{path.relative_to(ROOT)}:{node.lineno} ({branches})")
    assert not chains, "isinstance dispatch chains (register handlers instead): " + ", ".join(
        chains
    )
