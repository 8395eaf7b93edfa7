"""Bulletins (SV-12): a team leader's notice reaches the targeted desktops only, live, with
read receipts; scope and bad input are refused."""

from __future__ import annotations

import pytest

from icm.models import Switch
from supervision.models import AuditEntry
from tests.supervision.conftest import client_for


def sign_in(page, web, agent_id, password):
    page.goto(f"{web}/agent/")
    page.fill("input[name=agent_id]", agent_id)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#link[data-up='1']")


@pytest.mark.browser
def test_a_bulletin_reaches_the_targeted_desktops_only_with_read_receipts(
    teams, platform, web, page
):
    site, users = teams
    Switch.objects.filter(name=platform.switch).update(site=site)
    sign_in(page, web, "ag1", "bar-1")
    other = page.context.browser.new_context().new_page()
    sign_in(other, web, "ag2", "bar-2")
    lead = client_for(users["lead1"])
    r = lead.post(
        "/api/supervision/bulletins/",
        {
            "text": "Outage in the north: expect calls.",
            "to": {"kind": "group", "target": "team 1"},
            "priority": "urgent",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    sent = r.json()
    assert [x["agent"] for x in sent["receipts"]] == ["ag1"]
    notice = page.locator("#bulletins .bulletin", has_text="Outage in the north")
    notice.wait_for()
    assert "urgent" in notice.get_attribute("class")
    other.wait_for_timeout(1500)  # the other team's desktop got nothing meanwhile
    assert other.locator("#bulletins .bulletin").count() == 0
    notice.locator("button").click()
    notice.wait_for(state="detached")
    receipts = lead.get(f"/api/supervision/bulletins/{sent['id']}/").json()["receipts"]
    assert receipts[0]["agent"] == "ag1" and receipts[0]["read_at"]
    page.reload()  # read: not shown again
    page.wait_for_selector("#link[data-up='1']")
    assert page.locator("#bulletins .bulletin").count() == 0
    other.close()


def test_bulletins_are_scoped_and_checked(teams):
    _, users = teams
    lead = client_for(users["lead1"])
    r = lead.post(
        "/api/supervision/bulletins/",
        {"text": "hi", "to": {"kind": "group", "target": "team 2"}},
        format="json",
    )
    assert r.status_code == 403
    r = lead.post(
        "/api/supervision/bulletins/",
        {"text": "hi", "to": {"kind": "agent", "target": "ag2"}},
        format="json",
    )
    assert r.status_code == 403
    assert (
        lead.post(
            "/api/supervision/bulletins/", {"text": "", "to": {"kind": "all"}}, format="json"
        ).status_code
        == 400
    )
    assert lead.post("/api/supervision/bulletins/", ["x"], format="json").status_code == 400
    r = client_for(users["agent1"]).post(
        "/api/supervision/bulletins/", {"text": "hi", "to": {"kind": "all"}}, format="json"
    )
    assert r.status_code == 403
    body = {"text": "Team meeting at 3.", "to": {"kind": "all"}}
    r = lead.post("/api/supervision/bulletins/", body, format="json")
    assert [x["agent"] for x in r.json()["receipts"]] == ["ag1"]  # a leader's "all": its teams
    boss = client_for(users["admin"]).post(
        "/api/supervision/bulletins/", {"text": "Welcome", "to": {"kind": "all"}}, format="json"
    )
    assert [x["agent"] for x in boss.json()["receipts"]] == ["ag1", "ag2"]
    assert (
        client_for(users["lead2"])
        .get(f"/api/supervision/bulletins/{boss.json()['id']}/")
        .status_code
        == 403
    )
    outcomes = list(AuditEntry.objects.filter(action="bulletin").values_list("outcome", flat=True))
    assert outcomes.count("refused") == 3 and outcomes.count("ok") == 2
