"""Extension health in icm (ICM-1): the registrations feature on the ACD runtime (the
switch's event and its resync reply in both orders), the rows it writes, and the admin's
extension list that shows them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from icm.daemon.acd.messages import AcdRequest
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.outbox import Outbox
from icm.daemon.registrations.contract import contract
from icm.daemon.registrations.phones import PhoneRegistry
from icm.daemon.registrations.store import write_registrations
from icm.domain.acd.model import AgentState, Contact, QueuePolicy
from icm.domain.registrations import (
    PhoneRegistered,
    PhoneState,
    PhoneUnregistered,
    RegistrationRow,
    RegistrationsSnapshot,
)
from icm.models import Extension, ExtensionRegistration, Site

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _registry() -> tuple[PhoneRegistry, AcdRuntime, list[str], list[dict]]:
    sent: list[object] = []
    runtime = AcdRuntime(
        "sw",
        bgapi=lambda command: sent.append(command) or "job",
        post=lambda item: None,
        on_agent_change=lambda change: None,
        on_contact_finished=lambda finished, data: None,
        clock=lambda: 100.0,
    )
    runtime.configure([QueuePolicy("q", "longest_idle", {"s": 1})], [("una", {"s": 1}, "1301")])
    runtime.apply(runtime.acd.login("una", 100.0))
    changed: list[str] = []
    saved: list[dict] = []
    return PhoneRegistry("sw", runtime, changed.append, saved.append), runtime, changed, saved


def _snapshot(*users: str) -> RegistrationsSnapshot:
    rows = tuple(RegistrationRow(u, "d", "c1", "url", "ip", 0) for u in users)
    return RegistrationsSnapshot("sw", rows, T0)


def _queue_caller(runtime: AcdRuntime) -> None:
    runtime.apply(runtime.acd.enqueue(Contact("k1", "q", 100.0), 100.0))


@pytest.mark.parametrize("event_first", [True, False], ids=["event-then-reply", "reply-then-event"])
def test_the_phone_registering_around_the_resync_reply_gets_the_waiting_caller(event_first):
    registry, runtime, changed, saved = _registry()
    register = PhoneRegistered("sw", "1301", "d", "c1", "<sip:1301@ip>", "ip", "ua", T0)
    registry.apply(_snapshot())  # the first resync: the phone is not there yet
    _queue_caller(runtime)
    assert runtime.acd.agents["una"].state is AgentState.READY  # not offered: not registered
    if event_first:  # the REGISTER came first: the next reply lists it
        registry.apply(register)
        registry.apply(_snapshot("1301"))
    else:  # the reply was taken before the REGISTER: it does not list it
        registry.apply(_snapshot())
        registry.apply(register)
    assert runtime.acd.agents["una"].state is AgentState.RESERVED
    assert registry.agent_view("una") == {
        "phone": {"extension": "1301", "registered": True, "why": ""}
    }
    assert "una" in changed and saved[-1]["1301"].registered


@pytest.mark.parametrize("event_first", [True, False], ids=["event-then-reply", "reply-then-event"])
def test_the_phone_leaving_around_the_resync_reply_gets_no_offer(event_first):
    registry, runtime, changed, saved = _registry()
    registry.apply(_snapshot("1301"))
    unregister = PhoneUnregistered("sw", "1301", "d", "c1", "unregistered", T0)
    if event_first:
        registry.apply(unregister)
        registry.apply(_snapshot())
    else:
        registry.apply(_snapshot("1301"))
        registry.apply(unregister)
    _queue_caller(runtime)
    assert runtime.acd.agents["una"].state is AgentState.READY
    why = registry.agent_view("una")["phone"]["why"]
    assert why.startswith("phone 1301 not registered (")
    assert runtime.acd.agents["una"].unreachable == why


def test_nothing_is_held_back_before_the_switch_said_anything():
    registry, runtime, changed, saved = _registry()
    assert registry.agent_view("una")["phone"]["registered"] is None
    _queue_caller(runtime)
    assert runtime.acd.agents["una"].state is AgentState.RESERVED


def test_the_rows_follow_the_latest_state(db):
    since = T0.timestamp()
    write_registrations(
        "sw",
        {
            "1301": PhoneState("1301", True, since, "<sip:1301@ip>", "ip", "ua"),
            "1302": PhoneState("1302", False, since, why="expired"),
        },
    )
    write_registrations("sw", {"1301": PhoneState("1301", False, since, why="unregistered")})
    rows = list(ExtensionRegistration.objects.values_list("user", "registered", "why"))
    assert rows == [("1301", False, "unregistered")]


def test_the_admins_extension_list_shows_each_phones_registration(client, db):
    site = Site.objects.create(code="eh", name="EH", sip_domain="eh.local")
    for number in ("1301", "1302", "1303"):
        Extension.objects.create(site=site, number=number, password="x")
    since = T0.timestamp()
    write_registrations(
        "sw",
        {
            "1301": PhoneState("1301", True, since),
            "1302": PhoneState("1302", False, since, why="expired"),
        },
    )
    client.force_login(User.objects.create_superuser("eh", "eh@example.com", "pw"))
    page = client.get(reverse("admin:icm_extension_changelist")).content.decode()
    assert "registered since 2026-12-07 12:00" in page
    assert "NOT registered (expired) since 2026-12-07 12:00" in page
    assert "unknown (never seen registering)" in page


def test_an_agent_moved_to_an_unregistered_extension_is_held_back_at_once():
    _, runtime, changed, _ = _registry()
    feature = contract("sw", runtime, changed.append, Outbox("sw", retry_on=()))
    on_snapshot = dict(feature.handles)[RegistrationsSnapshot]
    on_snapshot(_snapshot("1301"))  # 1301 is registered, 1399 is not
    assert runtime.acd.agents["una"].unreachable == ""
    for login in ("una", "neo"):  # the admin moves una to 1399, adds neo on 1399
        request = AcdRequest("reload_agent", {"agent": login})
        request.loaded = {"agent": ({"s": 1}, "1399"), "read": 99}
        runtime.request(request)
    for login in ("una", "neo"):
        why = runtime.acd.agents[login].unreachable
        assert why == "phone 1399 not registered (not in the switch's registrations)"
    _queue_caller(runtime)
    assert runtime.acd.agents["una"].state is AgentState.READY  # not offered
