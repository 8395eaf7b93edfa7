"""icm routes each call from a routing table in memory (LiveRouting): a change to a route,
rule, schedule, holiday, queue greeting or flow reaches the very next call; a change rolled
back never does; while the database is away, calls are routed by the last table read."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import gevent
import pytest
from django.db import OperationalError, connection, transaction

from agents.models import Agent
from icm.daemon.ivr import session
from icm.daemon.ivr.session import _routing_query
from icm.models import (
    Call,
    Customer,
    CustomerNumber,
    Holiday,
    InboundRoute,
    Queue,
    RoutingRule,
    Schedule,
    ScheduleRule,
    Site,
    Switch,
)
from icm.routing_lookup import CallerFacts, LiveRouting, caller_facts, routing_version
from ivr.models import Flow, FlowVersion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queues():
    site = Site.objects.create(code="lr", name="Live routing", sip_domain="lr.local")
    made = {n: Queue.objects.create(site=site, name=n, display_name=n) for n in ("a", "b", "c")}
    InboundRoute.objects.create(site=site, name="main", dnis="8100", queue=made["a"])
    return made


def _now() -> datetime:
    return datetime.now(tz=UTC)


def _queue(routing: LiveRouting, dnis: str = "8100", ani: str = "0311234") -> str:
    return routing.current().route(dnis, ani, _now())[0]


def test_a_route_changed_after_the_table_was_read_reaches_the_next_call(queues):
    routing = LiveRouting()
    assert _queue(routing) == "a"
    InboundRoute.objects.filter(dnis="8100").update(queue=queues["b"])  # no save() signal
    assert _queue(routing) == "b"


def test_a_new_rule_and_a_disabled_one_reach_the_next_call(queues):
    routing = LiveRouting()
    assert _queue(routing, ani="0451999") == "a"
    rule = RoutingRule.objects.create(name="north", caller_prefix="0451", queue=queues["c"])
    assert _queue(routing, ani="0451999") == "c"
    assert _queue(routing, ani="0311234") == "a"
    rule.enabled = False
    rule.save()
    assert _queue(routing, ani="0451999") == "a"


def test_a_holiday_added_today_closes_the_schedule_for_the_next_call(queues):
    now = _now()
    office = Schedule.objects.create(name="always-open", timezone="UTC")
    ScheduleRule.objects.create(
        schedule=office, weekday=now.weekday(), opens=time(0), closes=time(23, 59, 59)
    )
    RoutingRule.objects.create(
        name="closed", dnis="8100", schedule=office, when="closed", queue=queues["c"]
    )
    routing = LiveRouting()
    if now.time() < time(23, 59, 59):
        assert _queue(routing) == "a"
    Holiday.objects.create(date=now.date(), name="today")  # a global holiday
    assert _queue(routing) == "c"


def test_a_queue_greeting_edited_reaches_the_next_call(queues):
    routing = LiveRouting()
    assert routing.current().greeting("a", "vip") == ""
    queue = queues["a"]
    queue.strategy_parameters = {"greetings": {"vip": "ivr/vip.wav", "default": "ivr/q.wav"}}
    queue.save()
    assert routing.current().greeting("a", "vip") == "ivr/vip.wav"
    assert routing.current().greeting("a", "standard") == "ivr/q.wav"


def test_publishing_a_flow_moves_the_queue_of_its_route(queues):
    site = Site.objects.get(code="lr")
    flow = Flow.objects.create(name="lr-flow")
    InboundRoute.objects.create(site=site, name="flow", dnis="8200", flow=flow)
    routing = LiveRouting()
    assert routing.current().route("8200", "1", _now()) == ("default", "inbound route", "lr-flow")
    graph = {"start": "q", "nodes": {"q": {"type": "enter_queue", "queue": "b"}}}
    version = FlowVersion.objects.create(flow=flow, number=1, graph=graph)
    flow.published_version = version
    flow.save()
    assert routing.current().route("8200", "1", _now())[0] == "b"


def test_a_change_rolled_back_never_reaches_a_call(queues):
    """The version moves with the change's own transaction: a reader outside never sees it,
    and the next committed change gets a new number (a sequence), never the rolled-back one."""
    routing = LiveRouting()
    assert _queue(routing) == "a"
    before = routing_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        InboundRoute.objects.filter(dnis="8100").update(queue=queues["c"])
        assert routing_version() != before  # inside the change: moved
        raise RuntimeError("rolled back")
    assert routing_version() == before and _queue(routing) == "a"
    InboundRoute.objects.filter(dnis="8100").update(queue=queues["b"])
    assert _queue(routing) == "b"


def test_while_the_database_is_away_calls_are_routed_by_the_last_table(queues, settings):
    routing = LiveRouting()
    assert _queue(routing) == "a"
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: every query fails
    try:
        assert _queue(routing) == "a"
        assert _queue(routing) == "a"
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    InboundRoute.objects.filter(dnis="8100").update(queue=queues["c"])
    assert _queue(routing) == "c"  # back: the change made meanwhile is read


def test_without_any_table_read_yet_a_database_error_is_raised(queues):
    routing = LiveRouting()
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        with pytest.raises(OperationalError):
            routing.current()
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port


def _call(ani: str, agent, days_ago: float, n: int) -> None:
    site = Site.objects.get(code="lr")
    switch, _ = Switch.objects.get_or_create(name="lr", defaults={"site": site})
    Call.objects.create(
        switch=switch,
        call_uuid=f"lr-{n}",
        direction="inbound",
        ani=ani,
        created_at=_now() - timedelta(days=days_ago),
        agent=agent,
    )


def test_one_statement_reads_the_callers_customer_and_last_agent_within_thirty_days(queues):
    customer = Customer.objects.create(name="Big Co", account="B-1", grade="gold")
    CustomerNumber.objects.create(customer=customer, number="5559000")
    old, recent = (Agent.objects.create(login_id=f"lr{i}", name=f"LR {i}") for i in (1, 2))
    _call("5559000", old, 2, 1)
    _call("5559000", recent, 1, 2)
    _call("5559000", None, 0.1, 3)  # an abandoned call: no agent
    _call("5550001", old, 31, 4)  # too long ago
    facts = caller_facts("5559000")
    assert (facts.account, facts.grade, facts.last_agent) == ("B-1", "gold", "lr2")
    assert facts.version == routing_version()
    assert caller_facts("5550001") == CallerFacts(routing_version())
    assert caller_facts("") == CallerFacts(routing_version())


def test_a_call_is_routed_with_its_customers_priority_and_greeting(queues):
    customer = Customer.objects.create(name="Big Co", account="B-1", grade="vip")
    CustomerNumber.objects.create(customer=customer, number="5559000")
    queue = queues["a"]
    queue.strategy_parameters = {"greetings": {"vip": "ivr/vip.wav"}}
    queue.save()
    routing = _routing_query("8100", "5559000")
    assert (routing.queue, routing.customer, routing.priority) == ("a", "B-1", 10)
    assert (routing.grade, routing.greeting) == ("vip", "ivr/vip.wav")
    stranger = _routing_query("8100", "5550000")
    assert (stranger.customer, stranger.priority, stranger.greeting) == ("", 0, "")


def test_a_plugged_in_connector_is_asked_instead_of_the_customer_table(queues, settings):
    settings.IPBX_CUSTOMER_CONNECTOR = "tests.icm.test_customer_routing.crm_connector"
    customer = Customer.objects.create(name="Big Co", account="B-1", grade="vip")
    CustomerNumber.objects.create(customer=customer, number="5551")
    routing = _routing_query("8100", "5551")
    assert (routing.customer, routing.priority, routing.grade) == ("crm-42", 5, "gold")


def test_while_the_database_is_away_a_call_is_routed_without_customer_data(queues, caplog):
    assert _routing_query("8100", "5559000").queue == "a"  # a table read
    InboundRoute.objects.filter(dnis="8100").update(queue=queues["b"])
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        routing = _routing_query("8100", "5559000")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert (routing.queue, routing.customer, routing.last_agent) == ("a", "", "")
    assert "last routing table" in caplog.text
    assert _routing_query("8100", "5559000").queue == "b"


def test_a_look_up_stuck_in_the_database_routes_the_call_by_the_last_table(
    queues, monkeypatch, caplog
):
    """The caller is routed, not hung up, when the database workers cannot answer in time."""
    assert session._lookup_routing("8100", "5559000").queue == "a"  # a table read
    monkeypatch.setattr(session.DbWorker, "WAIT", 0.3)
    monkeypatch.setattr(session, "_lookups", session.DbWorker())

    def stuck(ani: str) -> CallerFacts:
        gevent.sleep(2)
        raise AssertionError("never answers in time")

    monkeypatch.setattr(session, "caller_facts", stuck)
    routing = session._lookup_routing("8100", "5559000")
    assert (routing.queue, routing.customer, routing.priority) == ("a", "", 0)
    assert "routing look-up too slow" in caplog.text
