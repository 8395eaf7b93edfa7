"""Follow-up campaigns (BIZ-6): from the abandoned-calls report, one click makes a draft
campaign of the queue's callers who gave up on those days — one contact per number, the
do-not-call list respected, audited; the API also takes a disposition; other queues'
callers and other teams' queues stay out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.models import ContactNote, Disposition
from icm.models import Call, Queue, Switch
from outbound.models import Campaign, Contact, DoNotCall
from supervision.models import AuditEntry
from tests.fixtures.browser import log_in
from tests.supervision.conftest import (
    client_for,
    teams,  # noqa: F401
)


@pytest.fixture
def calls(teams):  # noqa: F811
    site, users = teams
    switch = Switch.objects.create(name="fs-fu", site=site)
    support, billing = Queue.objects.get(name="support"), Queue.objects.get(name="billing")
    Campaign.objects.create(
        name="earlier", display_name="Earlier", queue=support, gateway="carrier", switch=switch
    )
    DoNotCall.objects.create(number="5550903")

    def call(n: int, ani: str, queue: Queue, outcome: str, hour: int = 10) -> Call:
        return Call.objects.create(
            switch=switch,
            call_uuid=f"fu{n}",
            direction="inbound",
            ani=ani,
            dnis="8131",
            state="ended",
            created_at=datetime(2026, 11, 30, hour, n, tzinfo=UTC),
            queue=queue,
            attached_data={"routing": {"outcome": outcome}},
        )

    call(1, "5550901", support, "abandoned")
    call(2, "555 0902", support, "abandoned")
    call(3, "5550901", support, "abandoned", hour=11)  # the same caller again
    call(4, "5550903", support, "abandoned")  # do not call
    call(5, "5550904", support, "answered")
    call(6, "5550905", billing, "abandoned")  # another queue
    sold = call(7, "5550906", support, "answered")
    later = Disposition.objects.create(code="callback", label="Call back")
    ContactNote.objects.create(
        agent=users["agent1"].agent, call_uuid=sold.call_uuid, disposition=later
    )
    return users


@pytest.mark.browser
def test_a_follow_up_campaign_from_the_abandoned_report(calls, web, page, settings):
    log_in(
        page,
        web,
        "lead1",
        "pw",
        "/stats/reports/abandoned/?since=2026-11-30&until=2026-11-30&queue=support",
    )
    page.click("#follow-up")
    page.wait_for_selector("#follow-up-result a")
    assert page.inner_text("#follow-up-result") == "2 callers in a draft campaign"
    campaign = Campaign.objects.exclude(name="earlier").get()
    assert campaign.state == "draft" and campaign.queue.name == "support"
    assert campaign.gateway == "carrier" and "abandoned" in campaign.created_from
    assert set(Contact.objects.filter(campaign=campaign).values_list("number", flat=True)) == {
        "5550901",
        "5550902",
    }
    page.click("#follow-up-result a")
    page.wait_for_selector("#state[data-state=draft]")
    assert page.inner_text("#contacts") == "2"
    assert AuditEntry.objects.filter(action="campaign_followup", username="lead1").exists()


def test_by_disposition_and_the_refusals(calls):
    lead1 = client_for(calls["lead1"])
    r = lead1.post(
        "/api/campaigns/follow-up/",
        {
            "source": "disposition",
            "queue": "support",
            "since": "2026-11-30",
            "disposition": "callback",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["contacts"] == 1
    body = {"source": "abandoned", "queue": "support", "since": "2026-11-30"}
    other = client_for(calls["lead2"]).post("/api/campaigns/follow-up/", body, format="json")
    assert other.status_code == 403
    day = {"queue": "support", "since": "2026-11-30"}
    bad = (
        ({**day, "source": "x"}, "source"),
        ({**day, "source": "disposition"}, "disposition"),
        ({**day, "source": "abandoned", "since": "30/11"}, ""),
    )
    for wrong, why in bad:
        r = lead1.post("/api/campaigns/follow-up/", wrong, format="json")
        assert r.status_code == 400 and why in r.json()["detail"]
