"""Issue 18 item 2: a report whose data holds markup — here a not-ready reason, text an agent
could once choose freely — shows it as text on the supervisor's report page. The page's JSON
cannot end its <script> element (`json_script`), and the table is built from text nodes, so
in headless Chromium no injected script runs and no injected element exists."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from stats.models import NotReadyInterval
from tests.fixtures.browser import log_in
from tests.supervision.conftest import teams  # noqa: F401

BREAK_OUT = "</script><script>window.__pwned = 'script';</script>"
MARKUP = "<img src=x id=planted onerror=\"window.__pwned = 'img'\">"
DAY = "2026-11-30"
URL = f"/stats/reports/not_ready/?date={DAY}"


@pytest.fixture
def hostile_report(teams):  # noqa: F811
    """Agent ag1's not-ready time under two hostile reasons (stored before the reasons were
    checked, or written by an older version)."""
    site, users = teams
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    for n, reason in enumerate((BREAK_OUT, MARKUP)):
        NotReadyInterval.objects.create(
            period="day", start=start, agent="ag1", reason=reason, seconds=60.0 * (n + 1)
        )
    return users


def test_the_page_carries_the_data_as_inert_json(hostile_report):
    client = Client()
    client.force_login(hostile_report["admin"])
    html = client.get(URL).content.decode()
    assert "</script><script>window.__pwned" not in html  # nothing ends the data's element
    assert "<img src=x" not in html
    found = re.search(
        r'<script id="report-data" type="application/json">(.*?)</script>', html, re.DOTALL
    )
    assert found, "the report's data element"
    data = json.loads(found.group(1))  # the whole of it, up to its own end tag
    assert sorted(r["reason"] for r in data["rows"]) == sorted([BREAK_OUT, MARKUP])


@pytest.mark.browser
@pytest.mark.parametrize("reason", [BREAK_OUT, MARKUP], ids=["script-end-tag", "markup-in-cell"])
def test_the_browser_shows_the_text_and_runs_nothing(teams, web, page, reason):  # noqa: F811
    NotReadyInterval.objects.create(
        period="day",
        start=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        agent="ag1",
        reason=reason,
        seconds=60.0,
    )
    log_in(page, web, "boss", "pw", URL)
    page.wait_for_load_state("load")
    assert page.evaluate("window.__pwned") is None  # neither a script nor an onerror ran
    page.wait_for_selector("#report tbody td[data-key=reason]")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#planted").count() == 0 and page.locator("#report img").count() == 0
    assert page.locator("#report tbody td[data-key=reason]").all_inner_texts() == [reason]
    assert page.evaluate("window.report.rows.length") == 1  # the page's data parsed whole
