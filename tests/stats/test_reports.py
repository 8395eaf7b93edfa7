"""The reports over the interval tables: hand-computed figures in the API, the scope of a
team leader, bad filters, CSV; in headless Chromium the intraday report draws its chart and
its XLSX export opens with openpyxl holding the same numbers."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from agents.models import Agent, WorkGroup
from icm.models import Queue
from stats.aggregate import aggregate
from tests.fixtures.browser import log_in
from tests.stats.facts_data import make_facts
from tests.supervision.conftest import (
    client_for,
    teams,  # noqa: F401
)


@pytest.fixture
def monday(teams, settings):  # noqa: F811
    settings.TIME_ZONE = "UTC"
    settings.IPBX_SHORT_ABANDON_SECONDS = 5
    site, users = teams
    Queue.objects.filter(name="support").update(service_level_seconds=20)
    Agent.objects.create(login_id="a1", name="Alice")
    WorkGroup.objects.get(name="team 1").agents.add(Agent.objects.get(login_id="a1"))
    make_facts()
    aggregate()
    return users


def test_the_numbers_in_the_api(monday):
    boss = client_for(monday["admin"])
    day = boss.get("/api/stats/reports/intraday/?date=2026-11-30").json()
    first, second = day["rows"]
    assert first["interval"] == "2026-11-30 09:00" and second["interval"] == "2026-11-30 09:15"
    assert (
        first["offered"],
        first["answered"],
        first["abandoned"],
        first["short_abandoned"],
        first["overflowed"],
    ) == (5, 2, 2, 1, 1)
    assert first["sl_pct"] == 33.3  # 1 within 20 s of (2 answered + 2 abandoned − 1 short)
    assert first["asa"] == 20.0 and first["aht"] == 105.0  # (120+30 + 60) / 2
    assert day["totals"]["offered"] == 6 and day["totals"]["sl_pct"] == 50.0  # 2 / 4
    agents = boss.get("/api/stats/reports/agents/?since=2026-11-30&until=2026-11-30").json()
    (alice,) = agents["rows"]
    assert alice["handled"] == 3 and alice["aht"] == round((280 + 50) / 3, 1)
    assert alice["occupancy_pct"] == round(100 * 150 / 210, 1)  # busy 150 s, ready 60 s
    assert alice["utilisation_pct"] == round(100 * 150 / (150 + 60 + 990), 1)
    lunch = boss.get("/api/stats/reports/not_ready/?date=2026-11-30").json()["rows"]
    assert lunch == [{"agent": "a1", "reason": "lunch", "seconds": 990.0, "of_signed_in_pct": 82.5}]
    gave_up = boss.get("/api/stats/reports/abandoned/?date=2026-11-30").json()
    assert {b["waited"]: b["calls"] for b in gave_up["chart"]["bars"]}["0–5 s"] == 1
    assert gave_up["rows"][0]["avg_abandon_wait"] == 21.5
    hourly = boss.get("/api/stats/reports/hourly/?date=2026-11-30").json()
    assert [(r["hour"], r["offered"]) for r in hourly["rows"]] == [("09:00", 6)]
    listed = csv.reader(
        io.StringIO(
            boss.get("/api/stats/reports/queues/?date=2026-11-30&export=csv").content.decode()
        )
    )
    header, support, total = list(listed)
    assert header[:3] == ["Queue", "Offered", "Answered"] and support[:3] == ["support", "6", "3"]
    assert total[0] == "Total"


def test_scope_and_bad_filters(monday):
    lead2 = client_for(monday["lead2"])  # billing's leader: not support, not a1
    assert lead2.get("/api/stats/reports/intraday/?date=2026-11-30").json()["rows"] == []
    assert lead2.get("/api/stats/reports/agents/?date=2026-11-30").json()["rows"] == []
    refused = lead2.get("/api/stats/reports/intraday/?date=2026-11-30&queue=support")
    assert refused.status_code == 400 and "not one of yours" in refused.json()["detail"]
    lead1 = client_for(monday["lead1"])
    assert (
        lead1.get("/api/stats/reports/queues/?date=2026-11-30").json()["rows"][0]["queue"]
        == "support"
    )
    assert client_for(monday["agent1"]).get("/api/stats/reports/queues/").status_code == 403
    boss = client_for(monday["admin"])
    for query, why in (
        ("date=30/11/2026", "YYYY-MM-DD"),
        ("since=2026-12-02&until=2026-12-01", "before"),
        ("since=2020-01-01&until=2026-01-01", "at most"),
        ("group=nobody", "no work group"),
    ):
        r = boss.get(f"/api/stats/reports/intraday/?{query}")
        assert r.status_code == 400 and why in r.json()["detail"], query
    assert boss.get("/api/stats/reports/nonsense/").status_code == 404
    grouped = boss.get("/api/stats/reports/intraday/?date=2026-11-30&group=team 2").json()
    assert grouped["rows"] == []  # team 2 has billing only


@pytest.mark.browser
def test_intraday_page_chart_and_xlsx(monday, web, page, tmp_path):
    log_in(page, web, "boss", "pw", "/stats/reports/intraday/?date=2026-11-30")
    page.wait_for_selector("#chart canvas")
    assert page.get_attribute("#chart", "data-points") == "2"
    assert page.get_attribute("#chart", "data-series") == "4"  # 3 counts + the SL % line
    cells = page.locator("#report tbody tr").nth(0).locator("td").all_inner_texts()
    assert cells[:7] == ["2026-11-30 09:00", "5", "2", "2", "1", "1", "33.3"]
    assert page.locator("#report tfoot td").nth(1).inner_text() == "6"
    with page.expect_download() as download:
        page.click("#export-xlsx")
    path = tmp_path / "intraday.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = values[2]
    assert header[:3] == ["Interval", "Offered", "Answered"]
    api = client_for(monday["admin"]).get("/api/stats/reports/intraday/?date=2026-11-30").json()
    keys = [c["key"] for c in api["columns"]]
    for row, expected in zip(values[3:5], api["rows"], strict=True):
        assert row == [expected[k] for k in keys]
    assert values[5][0] == "Total" and values[5][1] == api["totals"]["offered"]
    page.emulate_media(media="print")
    assert not page.is_visible("#filters") and page.is_visible("#report")
    page.emulate_media(media="screen")
    page.goto(f"{web}/stats/reports/intraday/?date=yesterday")
    assert "YYYY-MM-DD" in page.inner_text(".error")


def test_the_staffing_plan_from_four_mondays(monday):
    """The 10:00 interval of the last four Mondays had 60, 50, 40 and 30 calls at 180 s:
    weighted 4-3-2-1 that forecasts 50 calls, 10 Erlangs — 14 agents for 80 % in 20 s
    (88.8 %), the published Erlang C example; Erlang A with 2 minutes' patience needs 12."""
    from datetime import UTC, datetime, timedelta

    from stats.models import ContactInterval

    for weeks_back, calls in ((1, 60), (2, 50), (3, 40), (4, 30)):
        start = datetime(2026, 11, 30, 10, 0, tzinfo=UTC) - timedelta(weeks=weeks_back)
        ContactInterval.objects.create(
            period="15m",
            start=start,
            dimension="queue",
            key="support",
            offered=calls,
            answered=calls,
            talk=180 * calls,
        )
    boss = client_for(monday["admin"])
    plan = boss.get("/api/stats/reports/forecast/?date=2026-11-30&queue=support").json()
    (ten,) = [r for r in plan["rows"] if r["interval"] == "10:00"]
    assert (ten["calls"], ten["aht"], ten["agents"], ten["sl_pct"], ten["weeks"]) == (
        50.0,
        180.0,
        14,
        88.8,
        4,
    )
    assert [r["interval"] for r in plan["rows"]] == ["10:00"]  # quiet intervals forecast 0
    with_patience = boss.get(
        "/api/stats/reports/forecast/?date=2026-11-30&queue=support&patience=120"
    ).json()
    assert with_patience["rows"][0]["agents"] == 12
    # the day before has no history at all: every week reported missing
    empty = boss.get("/api/stats/reports/forecast/?date=2026-11-29&queue=support").json()
    assert empty["rows"] == [] and "no data on" in empty["title"]
    bad = boss.get("/api/stats/reports/forecast/?date=2026-11-30&weeks=40")
    assert bad.status_code == 400


def test_the_cost_report_per_agent_and_destination(monday):
    from datetime import UTC, datetime
    from decimal import Decimal

    from stats.models import LegCost

    def leg(n: int, agent: str, cost: str | None, prefix: str = "44") -> LegCost:
        return LegCost(
            switch="fs1",
            leg_uuid=f"l{n}",
            call_uuid=f"c{n}",
            gateway="carrier",
            started_at=datetime(2026, 11, 30, 9, n, tzinfo=UTC),
            kind="outbound",
            answered_seconds=60,
            billed_seconds=60,
            agent=agent,
            queue="support",
            cost=Decimal(cost) if cost else None,
            currency="EUR",
            prefix=prefix,
            destination="UK",
            rated_at=datetime.now(tz=UTC),
            unrated=cost is None,
        )

    LegCost.objects.bulk_create(
        [leg(1, "a1", "0.1235"), leg(2, "a1", "0.0015"), leg(3, "ag2", None, "")]
    )
    boss = client_for(monday["admin"])
    per_agent = boss.get("/api/stats/reports/cost/?date=2026-11-30&by=agent").json()
    rows = {r["key"]: r for r in per_agent["rows"]}
    assert rows["a1"]["cost"] == "0.13" and rows["a1"]["legs"] == 2  # 0.1250 to the cent
    assert rows["ag2"]["unrated"] == 1
    assert boss.get("/api/stats/reports/cost/?date=2026-11-30&by=colour").status_code == 400
    sheet = boss.get("/api/stats/reports/cost/?date=2026-11-30&by=agent&export=csv")
    assert "a1,2,0,120" in sheet.content.decode()
