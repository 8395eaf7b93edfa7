"""Customer-data routing (R-4): grade → priority; a failing or slow connector still routes."""

import gevent
import pytest

from icm.models import Customer, CustomerNumber
from icm.routing_lookup import customer_priority


def failing_connector(ani):
    raise OSError("CRM unreachable")


def slow_connector(ani):
    gevent.sleep(5)
    return ("never", "vip")


def crm_connector(ani):
    return ("crm-42", "gold") if ani == "5551" else None


@pytest.mark.django_db
def test_vip_customers_get_top_priority():
    customer = Customer.objects.create(name="Big Co", account="B-1", grade="vip")
    CustomerNumber.objects.create(customer=customer, number="5559000")
    assert customer_priority("5559000") == ("B-1", 10)
    assert customer_priority("5550000") == ("", 0)


def test_an_external_connector_can_be_plugged_in(settings):
    settings.IPBX_CUSTOMER_CONNECTOR = "tests.icm.test_customer_routing.crm_connector"
    assert customer_priority("5551") == ("crm-42", 5)


@pytest.mark.parametrize(
    ("connector", "logged"),
    [("failing_connector", "failed (CRM unreachable)"), ("slow_connector", "timed out")],
)
def test_a_failing_or_slow_connector_still_routes_at_default_priority(
    settings, caplog, connector, logged
):
    settings.IPBX_CUSTOMER_CONNECTOR = f"tests.icm.test_customer_routing.{connector}"
    settings.IPBX_CUSTOMER_LOOKUP_TIMEOUT = 0.2
    assert customer_priority("5551") == ("", 0)
    assert logged in caplog.text
