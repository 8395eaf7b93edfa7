"""Routing on system information (R-3): caller prefix, schedules and holidays, priorities."""

from datetime import UTC, date, datetime, time

import pytest

from icm.models import Holiday, InboundRoute, Queue, RoutingRule, Schedule, ScheduleRule, Site
from icm.routing_lookup import queue_for_call

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
MONDAY_22 = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
CHRISTMAS_10 = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)  # a Friday


@pytest.fixture
def setup(db):
    site = Site.objects.create(code="r3", name="R3", sip_domain="r3.local")
    queues = {
        n: Queue.objects.create(site=site, name=n, display_name=n)
        for n in ("day", "night", "north", "vip")
    }
    office = Schedule.objects.create(name="office", timezone="UTC")
    for weekday in range(5):
        ScheduleRule.objects.create(
            schedule=office, weekday=weekday, opens=time(8), closes=time(20)
        )
    Holiday.objects.create(date=date(2026, 12, 25), name="Christmas")  # closes every schedule
    InboundRoute.objects.create(site=site, name="main", dnis="8000", queue=queues["day"])
    RoutingRule.objects.create(
        name="night",
        priority=10,
        dnis="8000",
        schedule=office,
        when="closed",
        queue=queues["night"],
    )
    RoutingRule.objects.create(
        name="north area", priority=20, caller_prefix="0451", queue=queues["north"]
    )
    return queues


def test_office_hours_go_to_the_inbound_route(setup):
    assert queue_for_call("8000", "0311234", MONDAY_10) == ("day", "inbound route")


def test_nights_and_holidays_go_to_the_on_duty_queue(setup):
    assert queue_for_call("8000", "0311234", MONDAY_22)[0] == "night"
    assert queue_for_call("8000", "0311234", CHRISTMAS_10)[0] == "night"


def test_caller_area_code_picks_the_regional_queue(setup):
    assert queue_for_call("8000", "04519999", MONDAY_10) == ("north", "rule north area")


def test_priority_orders_rules(setup):
    # at night the night rule (priority 10) wins over the area rule (20)
    assert queue_for_call("8000", "04519999", MONDAY_22)[0] == "night"


def test_disabled_rules_are_ignored(setup):
    RoutingRule.objects.update(enabled=False)
    assert queue_for_call("8000", "04519999", MONDAY_22)[0] == "day"
