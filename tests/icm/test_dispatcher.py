"""The daemon's dispatcher and feature registry: each inbox item reaches the handlers
registered for its type, in order; hooks combine the features in the wiring's order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from icm.daemon.dispatcher import Dispatcher
from icm.daemon.feature import Contract, Features
from icm.domain import events as ev


@dataclass
class Base:
    n: int


@dataclass
class Special(Base):
    pass


def test_handlers_run_in_registration_order():
    seen = []
    dispatcher = Dispatcher()
    dispatcher.on(Base, lambda item: seen.append(("first", item.n)))
    dispatcher.on(Base, lambda item: seen.append(("second", item.n)))
    dispatcher.dispatch(Base(1))
    assert seen == [("first", 1), ("second", 1)]


def test_the_most_specific_registration_wins_and_a_base_is_the_fallback():
    seen = []
    dispatcher = Dispatcher()
    dispatcher.on(Base, lambda item: seen.append("base"))
    dispatcher.dispatch(Special(1))
    dispatcher.on(Special, lambda item: seen.append("special"))  # clears the resolution cache
    dispatcher.dispatch(Special(2))
    dispatcher.dispatch(Base(3))
    assert seen == ["base", "special", "base"]


def test_an_item_nobody_handles_is_dropped():
    Dispatcher().dispatch(object())  # no error: a feature that is not wired does not see it


def _hung_up() -> ev.LegHungUp:
    return ev.LegHungUp("fs1", "leg-1", "NORMAL_CLEARING", datetime.now(tz=UTC))


def test_a_leg_owned_by_a_feature_is_not_the_acds():
    features = Features()
    asked = []
    features.add(Contract("consults", owns_legs=lambda e: asked.append("consults") or False))
    features.add(Contract("callbacks", owns_legs=lambda e: asked.append("callbacks") or True))
    features.add(Contract("later", owns_legs=lambda e: asked.append("later") or True))
    assert features.owns_leg_event(_hung_up())
    assert asked == ["consults", "callbacks"]  # the first owner ends the question


def test_the_first_feature_with_a_card_gives_the_agents_offer():
    features = Features()
    features.add(Contract("consults", offer_card=lambda agent: None))
    features.add(Contract("campaigns", offer_card=lambda agent: {"from": "campaigns"}))
    features.add(Contract("acd", offer_card=lambda agent: {"from": "acd"}))
    assert features.offer_card("ag1") == {"from": "campaigns"}


def test_agent_views_add_up():
    features = Features()
    features.add(Contract("consults", agent_view=lambda agent: {"consult": None}))
    features.add(Contract("recording", agent_view=lambda agent: {"recording": "on"}))
    assert features.agent_view("ag1") == {"consult": None, "recording": "on"}


def test_a_bus_command_or_agent_action_claimed_twice_is_refused():
    features = Features()
    features.add(Contract("a", commands={"hangup": lambda args: {}}))
    features.add(Contract("b", commands={"hangup": lambda args: {}}))
    with pytest.raises(ValueError, match="claimed by two features"):
        features.commands()
    twice = Features()
    twice.add(Contract("a", agent_actions={"hold": lambda args: {}}))
    twice.add(Contract("b", agent_actions={"hold": lambda args: {}}))
    with pytest.raises(ValueError, match="claimed by two features"):
        twice.agent_actions()
    with pytest.raises(ValueError, match="wired twice"):
        twice.add(Contract("a"))
