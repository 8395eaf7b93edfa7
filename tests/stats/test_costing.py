"""Call costs in PostgreSQL (OPS-1): trunk legs of hand-made CDRs rated with hand-computed
costs (an agent's own call, a transfer out, a trunk found by its proxy's host and billed by
its own plan, an unanswered leg, an unknown destination), the legs that must not be rated
(the customer's inbound leg, agents' phones, an internal call, a live leg, an unknown host),
a second run and two workers at once rating nothing twice, and the roll-ups per queue,
agent and destination on Paris days."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection

from agents.models import Agent
from icm.models import Call, CallLeg, Extension, Gateway, Queue, Site, Switch
from stats.costing import cost_report, rate_new_legs
from stats.models import GatewayTariff, LegCost, TariffPlan, TariffRate

# a recent day (rating looks back 35 days): 9:00 UTC is 10:00 or 11:00 in Paris
DAY = (datetime.now(tz=UTC) - timedelta(days=3)).date()
T0 = datetime.combine(DAY, time(9), tzinfo=UTC)


def rate(plan, prefix, price, description, **fields):
    TariffRate.objects.create(
        plan=plan, prefix=prefix, price_per_minute=D(price), description=description, **fields
    )


@pytest.fixture
def world(settings):
    settings.TIME_ZONE = "Europe/Paris"
    site = Site.objects.create(code="cost", name="Cost site", sip_domain="cost.local")
    switch = Switch.objects.create(site=site, name="fs-cost")
    Gateway.objects.create(switch=switch, name="carrier", proxy="sip.carrier.example")
    premium = Gateway.objects.create(
        switch=switch, name="premium", proxy="sip.premium.example:5060"
    )
    euro = TariffPlan.objects.create(name="Carrier A", currency="EUR")  # the default: first
    rate(euro, "44", "0.0200", "UK landline", first_increment=30, next_increment=6)
    rate(
        euro,
        "447",
        "0.1000",
        "UK mobile",
        first_increment=30,
        next_increment=6,
        connection_fee=D("0.05"),
        minimum_seconds=30,
    )
    rate(euro, "33", "0.0150", "France")  # 60/60
    dollar = TariffPlan.objects.create(name="Carrier B", currency="USD")
    rate(dollar, "1", "0.0300", "USA", first_increment=1, next_increment=1)
    GatewayTariff.objects.create(gateway=premium, plan=dollar)
    for login_id, number in (("alice", "1101"), ("bob", "1102")):
        ext = Extension.objects.create(site=site, number=number, password="x")
        Agent.objects.create(login_id=login_id, name=login_id.title(), extension=ext)
    Extension.objects.create(site=site, number="1103", password="x")  # a desk phone
    for name in ("sales", "support"):
        Queue.objects.create(site=site, name=name, display_name=name.title())
    return switch


def a_call(switch, name, direction, *, queue="", agent="", at=T0):
    return Call.objects.create(
        switch=switch,
        call_uuid=f"call-{name}",
        direction=direction,
        created_at=at,
        queue=Queue.objects.get(name=queue) if queue else None,
        agent=Agent.objects.get(login_id=agent) if agent else None,
    )


def a_leg(call, name, channel, *, talk=None, direction="outbound", after=0, ended=True):
    """A leg created `after` s into its call, answered 2 s later for `talk` s (None: never)."""
    created = call.created_at + timedelta(seconds=after)
    answered = created + timedelta(seconds=2) if talk is not None else None
    hungup = (answered or created) + timedelta(seconds=talk or 20) if ended else None
    return CallLeg.objects.create(
        call=call,
        switch=call.switch,
        uuid=f"leg-{name}",
        channel_name=channel,
        direction=direction,
        dnis=channel.rpartition("/")[2].partition("@")[0],
        created_at=created,
        answered_at=answered,
        hungup_at=hungup,
    )


@pytest.fixture
def cdrs(world):
    """The day's calls: five trunk legs to rate, and legs that are not trunk legs."""
    switch = world
    # alice dials a UK mobile herself: her phone first, then the trunk (the call has no agent)
    own = a_call(switch, "own", "outbound")
    a_leg(own, "own-phone", "sofia/internal/1101@10.0.0.5:5060", talk=70)
    a_leg(own, "own-trunk", "sofia/external/447700900123@carrier", talk=61, after=3)
    # a customer in sales, answered by bob, sent on to a Paris number (written as dialled)
    inbound = a_call(switch, "in", "inbound", queue="sales", agent="bob")
    a_leg(
        inbound,
        "in-customer",
        "sofia/external/5551000@sip.carrier.example",
        talk=200,
        direction="inbound",
    )
    a_leg(inbound, "in-phone", "sofia/internal/1102@10.0.0.6:5060", talk=40, after=5)
    a_leg(inbound, "in-transfer", "sofia/gateway/carrier/0033142681234", talk=125.2, after=50)
    # a call-back of support by alice to New York, on the premium trunk (found by its host)
    back = a_call(switch, "back", "outbound", queue="support", agent="alice")
    a_leg(back, "back-trunk", "sofia/external/12125550100@sip.premium.example", talk=7.4)
    # alice tries a UK landline nobody answers
    missed = a_call(switch, "missed", "outbound", agent="alice")
    a_leg(missed, "missed-trunk", "sofia/external/441632960000@carrier")
    # bob's sales customer sent to a number no rate covers
    odd = a_call(switch, "odd", "inbound", queue="sales", agent="bob")
    a_leg(odd, "odd-trunk", "sofia/gateway/carrier/999123", talk=30)
    # not trunk legs: an internal call, a leg to a host that is no gateway, a live trunk leg
    inside = a_call(switch, "inside", "internal")
    a_leg(inside, "inside-1101", "sofia/internal/1101@10.0.0.5:5060", talk=60, direction="inbound")
    a_leg(inside, "inside-1103", "sofia/internal/1103@10.0.0.7:5060", talk=60)
    a_leg(inside, "stray", "sofia/external/447700900999@203.0.113.9", talk=60)
    live = a_call(switch, "live", "outbound", agent="bob")
    a_leg(live, "live-trunk", "sofia/external/33612345678@carrier", talk=10, ended=False)
    return switch


TRUNK_LEGS = {
    "leg-own-trunk",
    "leg-in-transfer",
    "leg-back-trunk",
    "leg-missed-trunk",
    "leg-odd-trunk",
}


@pytest.mark.django_db
def test_each_trunk_leg_is_rated_once_with_its_hand_computed_cost(cdrs):
    assert rate_new_legs() == 5
    rows = {row.leg_uuid: row for row in LegCost.objects.all()}
    assert set(rows) == TRUNK_LEGS  # no phone, inbound, internal, stray or live leg

    own = rows["leg-own-trunk"]  # 61 s at 30/6 → 66 s; 0.05 + 0.10 × 66 / 60 = 0.16
    assert (own.kind, own.gateway, own.plan, own.prefix, own.destination) == (
        "outbound",
        "carrier",
        "Carrier A",
        "447",
        "UK mobile",
    )
    assert (own.number, own.answered_seconds, own.billed_seconds) == ("447700900123", 61, 66)
    assert (own.cost, own.currency, own.unrated) == (D("0.1600"), "EUR", False)
    assert (own.queue, own.agent, own.call_uuid) == ("", "alice", "call-own")  # her phone's

    out = rows["leg-in-transfer"]  # 125.2 s → 126 → 180 s at 60/60; 0.015 × 3 = 0.045
    assert (out.kind, out.queue, out.agent, out.prefix) == ("transfer_out", "sales", "bob", "33")
    assert (out.billed_seconds, out.cost) == (180, D("0.0450"))
    assert out.number == "0033142681234" and out.started_at == T0 + timedelta(seconds=50)

    back = rows["leg-back-trunk"]  # the premium trunk's own plan: 8 s × 0.03 / 60 = 0.004
    assert (back.gateway, back.plan, back.currency, back.prefix) == (
        "premium",
        "Carrier B",
        "USD",
        "1",
    )
    assert (back.billed_seconds, back.cost, back.queue, back.agent) == (
        8,
        D("0.0040"),
        "support",
        "alice",
    )

    missed = rows["leg-missed-trunk"]  # unanswered: nothing billed, no connection fee
    assert (missed.answered_seconds, missed.billed_seconds, missed.cost) == (0, 0, D("0.0000"))
    assert (missed.prefix, missed.unrated) == ("44", False)

    odd = rows["leg-odd-trunk"]  # answered, no rate: listed as unrated, not priced at zero
    assert (odd.cost, odd.unrated, odd.prefix, odd.billed_seconds) == (None, True, "", 0)
    assert (odd.currency, odd.kind) == ("EUR", "transfer_out")


@pytest.mark.django_db
def test_a_second_run_rates_nothing_and_a_leg_ending_later_is_rated_then(cdrs):
    assert rate_new_legs(limit=3) == 3  # oldest ended first, the rest next time
    assert rate_new_legs() == 2
    before = list(LegCost.objects.order_by("leg_uuid").values_list("leg_uuid", "cost"))
    assert rate_new_legs() == 0
    assert list(LegCost.objects.order_by("leg_uuid").values_list("leg_uuid", "cost")) == before
    live = CallLeg.objects.get(uuid="leg-live-trunk")
    live.hungup_at = live.answered_at + timedelta(seconds=10)
    live.save()
    assert rate_new_legs() == 1  # 10 s to France at 60/60 → 60 s × 0.015 = 0.015
    row = LegCost.objects.get(leg_uuid="leg-live-trunk")
    assert (row.billed_seconds, row.cost, row.agent) == (60, D("0.0150"), "bob")


@pytest.mark.django_db
def test_a_leg_that_ended_before_the_lookback_is_left_alone_unless_asked(cdrs):
    CallLeg.objects.filter(uuid="leg-odd-trunk").update(hungup_at=T0 - timedelta(days=400))
    assert rate_new_legs(lookback_days=35) == 4
    assert rate_new_legs(lookback_days=None) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_rate_each_leg_once(cdrs):
    written, failures = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            written.append(rate_new_legs())
        except Exception as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures
    assert sorted(written) == [0, 5]  # the second waited for the first, then found none
    assert LegCost.objects.count() == 5


def report(by, **filters):
    return cost_report(DAY, DAY, by, **filters)


def row(key, legs, seconds, billed, cost, currency="EUR", unrated=0):
    return {
        "key": key,
        "legs": legs,
        "unrated": unrated,
        "seconds": seconds,
        "billed_seconds": billed,
        "cost": D(cost),
        "currency": currency,
    }


@pytest.mark.django_db
def test_costs_roll_up_per_queue_agent_and_destination(cdrs):
    rate_new_legs()
    assert report("queue") == [
        row("", 2, 61, 66, "0.16"),  # alice's own call + the unanswered one
        row("sales", 2, 155, 180, "0.05", unrated=1),  # 0.045 (+ one without a rate)
        row("support", 1, 7, 8, "0.00", currency="USD"),  # 0.004: under a cent
    ]
    assert report("agent") == [
        row("alice", 2, 61, 66, "0.16"),
        row("alice", 1, 7, 8, "0.00", currency="USD"),  # currencies are never added up
        row("bob", 2, 155, 180, "0.05", unrated=1),
    ]
    destinations = report("destination")
    assert [
        (r["key"], r["prefix"], r["description"], r["legs"], r["cost"], r["unrated"])
        for r in destinations
    ] == [
        ("", "", "", 1, D("0.00"), 1),
        ("1 USA", "1", "USA", 1, D("0.00"), 0),
        ("33 France", "33", "France", 1, D("0.05"), 0),
        ("44 UK landline", "44", "UK landline", 1, D("0.00"), 0),
        ("447 UK mobile", "447", "UK mobile", 1, D("0.16"), 0),
    ]
    assert report("campaign") == [
        row("", 4, 216, 246, "0.21", unrated=1),
        row("", 1, 7, 8, "0.00", currency="USD"),
    ]
    assert report("queue", queues={"sales"}) == [row("sales", 2, 155, 180, "0.05", unrated=1)]
    assert report("agent", agents={"alice"}, queues={"support"}) == [
        row("alice", 1, 7, 8, "0.00", currency="USD")
    ]
    assert report("queue", queues=set()) == []
    with pytest.raises(ValueError, match="cost by what"):
        report("switch")


@pytest.mark.django_db
def test_four_decimal_leg_costs_are_summed_before_rounding_to_the_cent(world):
    # 6 s to France would be 0.0150 × 60 s ... take a 1/1 plan: 3 s at 0.03 = 0.0015 each
    back = a_call(world, "many", "outbound", agent="alice")
    for n in range(10):
        a_leg(back, f"many-{n}", "sofia/external/12125550100@sip.premium.example", talk=3)
    assert rate_new_legs() == 10
    assert set(LegCost.objects.values_list("cost", flat=True)) == {D("0.0015")}
    assert report("agent") == [row("alice", 10, 30, 30, "0.02", currency="USD")]  # 0.015 → 0.02


@pytest.mark.django_db
def test_a_leg_counts_on_its_local_day(world):
    late = a_call(world, "late", "outbound", agent="bob", at=T0 + timedelta(hours=14, minutes=30))
    a_leg(late, "late-trunk", "sofia/external/447700900123@carrier", talk=61)
    rate_new_legs()
    assert report("agent") == []  # 23:30 UTC is past midnight in Paris: the next day
    after = DAY + timedelta(days=1)
    assert cost_report(after, after, "agent") == [row("bob", 1, 61, 66, "0.16")]
    assert len(cost_report(DAY - timedelta(days=7), after, "agent")) == 1


def test_an_agents_call_through_the_trunk_is_rated_once_it_ends(platform_factory):
    """switchsim + icm: an agent dials a London number through the trunk; once the CDR
    says the trunk leg ended, the run rates it — billed by the trunk's plan, the agent's."""
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from tests.fixtures.waiting import wait_until

    site = Site.objects.create(code="dial", name="Dial site", sip_domain="dial.local")
    ext = Extension.objects.create(site=site, number="1102", password="x")
    Agent.objects.create(login_id="senior", name="Senior", extension=ext, level=3)
    plan = TariffPlan.objects.create(name="Carrier A", currency="EUR")
    rate(plan, "44", "0.0200", "UK landline", first_increment=30, next_increment=6)
    platform = platform_factory()
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    Gateway.objects.create(
        switch=switch, name="carrier", proxy="sip.example", enabled=True, caller_id_number="5550000"
    )
    esl = platform.control()
    esl.api("sim_register 1102 answer:0.2")
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("boss", "b@example.com", "pw"))

    r = client.post("/api/agents/senior/dial/", {"number": "+44 20 7946 0000"}, format="json")
    assert r.status_code == 200, r.content
    trunk = "sofia/external/+442079460000@carrier"  # as dialled, "+" kept
    leg = wait_until(
        lambda: CallLeg.objects.filter(channel_name=trunk, answered_at__isnull=False).first(),
        timeout=20,
        what="the trunk leg answered",
    )
    assert rate_new_legs() == 0  # still talking: nothing to rate yet
    esl.api(f"uuid_kill {leg.uuid}")
    ended = wait_until(
        lambda: CallLeg.objects.filter(pk=leg.pk, hungup_at__isnull=False).first(),
        timeout=20,
        what="the trunk leg's hang-up in the CDR",
    )
    assert rate_new_legs() == 1
    assert rate_new_legs() == 0
    cost = LegCost.objects.get()
    talk = (ended.hungup_at - ended.answered_at).total_seconds()
    assert 0 < talk < 30  # a few seconds: the first 30 s increment, 0.02 × 30 / 60 = 0.01
    assert (cost.leg_uuid, cost.gateway, cost.kind, cost.agent) == (
        leg.uuid,
        "carrier",
        "outbound",
        "senior",
    )
    assert (cost.number, cost.prefix, cost.billed_seconds, cost.cost) == (
        "+442079460000",
        "44",
        30,
        D("0.0100"),
    )
    assert cost.answered_seconds == pytest.approx(talk, abs=0.001)
    esl.close()


@pytest.mark.django_db
def test_the_admin_lists_trunk_plans_and_the_rated_legs_read_only(cdrs, client):
    from django.contrib.auth import get_user_model

    rate_new_legs()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    for model, count in (("gatewaytariff", 1), ("legcost", 5)):
        page = client.get(f"/admin/stats/{model}/")
        assert page.status_code == 200 and page.context["cl"].result_count == count
    one = LegCost.objects.get(leg_uuid="leg-own-trunk")
    assert client.get(f"/admin/stats/legcost/{one.pk}/change/").status_code == 200  # a view
    assert client.get("/admin/stats/legcost/add/").status_code == 403
    assert client.get("/admin/stats/gatewaytariff/add/").status_code == 200
