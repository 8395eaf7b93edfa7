"""The attempt log carries the agent's disposition of an answered campaign call (INT-3): the
wrap-up note the agent saves after the call reaches the attempt at the pacer's next step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.models import ContactNote, Disposition
from outbound.dialer import fill_dispositions
from outbound.models import Attempt, Campaign, Contact
from tests.supervision.conftest import teams  # noqa: F401


@pytest.fixture
def answered(teams):  # noqa: F811
    site, users = teams
    campaign = Campaign.objects.create(name="renewals", display_name="Renewals", gateway="carrier")
    now = datetime.now(tz=UTC)
    rows = []
    for n, result in enumerate(("answered", "answered", "busy"), 1):
        contact = Contact.objects.create(campaign=campaign, number=f"555092{n}", status="done")
        rows.append(
            Attempt.objects.create(
                campaign=campaign,
                contact=contact,
                number=contact.number,
                attempt=1,
                key=f"k{n}",
                requested_at=now - timedelta(minutes=5),
                ended_at=now,
                result=result,
                call_uuid=f"leg-{n}",
                agent="ag1",
            )
        )
    return campaign, rows, users


def test_dispositions_reach_the_attempt_log(answered):
    campaign, (sold, later, busy), users = answered
    agent = users["agent1"].agent
    sale = Disposition.objects.create(code="sale", label="Sale")
    ContactNote.objects.create(
        agent=agent,
        call_uuid="leg-1",
        disposition=Disposition.objects.create(code="info", label="Info"),
    )
    ContactNote.objects.create(agent=agent, call_uuid="leg-1", disposition=sale)  # changed mind
    ContactNote.objects.create(agent=agent, call_uuid="leg-3", disposition=sale)  # not answered
    assert fill_dispositions(campaign, datetime.now(tz=UTC)) == 1
    assert fill_dispositions(campaign, datetime.now(tz=UTC)) == 0  # idempotent
    dispositions = dict(Attempt.objects.values_list("key", "disposition"))
    assert dispositions == {"k1": "sale", "k2": "", "k3": ""}
