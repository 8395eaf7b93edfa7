"""Publishing a flow version: refused with node-named problems, or new calls switch to it."""

import pytest

from ivr.actions import check_publish
from ivr.engine.validation import FlowInvalid
from ivr.models import Flow, FlowVersion

GRAPH = {
    "start": "hi",
    "nodes": {
        "hi": {"type": "play", "text": "Hi", "exits": {"next": "q"}},
        "q": {"type": "enter_queue", "queue": "support"},
    },
}


@pytest.fixture(autouse=True)
def support_queue(db):
    from icm.models import Queue, Site

    site = Site.objects.create(code="p", name="Publish site", sip_domain="p.local")
    Queue.objects.create(site=site, name="support", display_name="Support")


@pytest.mark.django_db
def test_publishing_retires_the_previous_version():
    flow = Flow.objects.create(name="main")
    v1 = FlowVersion.objects.create(flow=flow, number=1, graph=GRAPH)
    check_publish(v1)
    v2 = FlowVersion.objects.create(flow=flow, number=2, graph=GRAPH)
    check_publish(v2)
    flow.refresh_from_db()
    v1.refresh_from_db()
    assert flow.published_version == v2
    assert v1.status == FlowVersion.Status.RETIRED


@pytest.mark.django_db
def test_an_invalid_version_is_refused_and_nothing_changes():
    flow = Flow.objects.create(name="main")
    good = FlowVersion.objects.create(flow=flow, number=1, graph=GRAPH)
    check_publish(good)
    dangling = {"start": "hi", "nodes": {"hi": {"type": "play", "exits": {"next": "nowhere"}}}}
    bad = FlowVersion.objects.create(flow=flow, number=2, graph=dangling)
    with pytest.raises(FlowInvalid, match="node hi: exit 'next' leads to missing node"):
        check_publish(bad)
    flow.refresh_from_db()
    bad.refresh_from_db()
    assert flow.published_version == good and bad.status == FlowVersion.Status.DRAFT


@pytest.mark.django_db
def test_sub_flow_cycles_are_found_across_published_flows():
    billing = Flow.objects.create(name="billing")
    main = Flow.objects.create(name="main")
    calls_main = {
        "start": "s",
        "nodes": {
            "s": {"type": "subflow", "flow": "main", "exits": {"next": "end"}},
            "end": {"type": "hangup"},
        },
    }
    check_publish(FlowVersion.objects.create(flow=billing, number=1, graph=calls_main))
    calls_billing = {
        "start": "s",
        "nodes": {
            "s": {"type": "subflow", "flow": "billing", "exits": {"next": "end"}},
            "end": {"type": "hangup"},
        },
    }
    with pytest.raises(FlowInvalid, match="calls back into 'main'"):
        check_publish(FlowVersion.objects.create(flow=main, number=1, graph=calls_billing))


def test_the_demo_flow_is_valid():
    from icm.demo import FLOW_GRAPH
    from ivr.engine.validation import validate

    validate(FLOW_GRAPH, "main-menu")


@pytest.mark.django_db
def test_names_of_queues_connectors_schedules_and_sub_flows_must_exist():
    flow = Flow.objects.create(name="typos")
    graph = {
        "start": "s",
        "nodes": {
            "s": {
                "type": "schedule",
                "schedule": "Ofice hours",
                "exits": {"open": "l", "closed": "l"},
            },
            "l": {
                "type": "lookup",
                "connector": "balance",
                "variable": "b",
                "exits": {"next": "f", "error": "f"},
            },
            "f": {"type": "subflow", "flow": "bilin", "exits": {"next": "q"}},
            "q": {"type": "enter_queue", "queue": "suport"},
        },
    }
    with pytest.raises(FlowInvalid) as exc:
        check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=graph))
    assert {(p.node, p.message) for p in exc.value.problems} == {
        ("s", "there is no schedule named 'Ofice hours'"),
        ("l", "there is no enabled connector named 'balance'"),
        ("f", "there is no flow named 'bilin'"),
        ("q", "there is no queue named 'suport'"),
    }
    flow.refresh_from_db()
    assert flow.published_version is None
