"""Contact lists imported row by row (issue 9): bad numbers, duplicates, do-not-call numbers,
unknown time zones and lines in the wrong encoding are reported with their line numbers and
the good rows are kept; a file without a number column is refused as a whole; XLSX too."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from outbound.importing import BadList, import_contacts, normalise
from outbound.models import Campaign, Contact, DoNotCall


@pytest.fixture
def campaign(db):
    DoNotCall.objects.create(number="+441632960999", reason="asked not to be called")
    return Campaign.objects.create(name="renewals", display_name="Renewals", gateway="carrier")


def test_normalise():
    assert normalise("+44 (0)20-7946.0000") == "+44020794600" + "00"
    assert normalise("0044 20 7946 0000") == "+442079460000"
    assert normalise("555-0101") == "5550101"
    assert normalise("call me") is None and normalise("12") is None and normalise("") is None


def test_a_csv_with_bad_rows_keeps_the_good_ones(campaign):
    data = (
        (
            b"Number;Name;Time zone;Plan\n"
            b"+44 20 7946 0000;Ann Smith;Europe/London;gold\n"
            b"not a number;Bob;;silver\n"
            b"0044 20 7946 0000;Ann again;;\n"
            b"+44 1632 960999;Blocked;;\n"
            b"5550101;Cid;Mars/Olympus;\n"
            b"\n"
            b"5550102;Dee;America/New_York;bronze\n"
        )
        + "5550103;Zoë;;\n".encode("cp1252")
        + b"5550104;Eve;;\n"
    )
    report = import_contacts(campaign, data, "list.csv")
    assert report.added == 3 and report.rows == 8
    assert report.errors == [
        (3, "'not a number' is not a phone number"),
        (4, "+442079460000 is a duplicate of line 2"),
        (5, "+441632960999 is on the do-not-call list: not added"),
        (6, "unknown time zone 'Mars/Olympus' (e.g. Europe/Paris)"),
        (9, "not UTF-8 text (save the file as CSV UTF-8)"),
    ]
    ann = Contact.objects.get(number="+442079460000")
    assert (ann.name, ann.time_zone, ann.data, ann.source_line) == (
        "Ann Smith",
        "Europe/London",
        {"plan": "gold"},
        2,
    )
    assert set(Contact.objects.values_list("number", flat=True)) == {
        "+442079460000",
        "5550102",
        "5550104",
    }
    again = import_contacts(campaign, b"number\n5550102\n5550105\n")
    assert again.added == 1 and again.errors == [(2, "5550102 is already in this campaign")]


def test_files_that_cannot_be_read(campaign):
    with pytest.raises(BadList, match="no number column.*the header has: name, email"):
        import_contacts(campaign, b"name,email\nAnn,a@example.com\n")
    with pytest.raises(BadList, match="empty"):
        import_contacts(campaign, b"")
    with pytest.raises(BadList, match="not a readable XLSX"):
        import_contacts(campaign, b"PK\x03\x04garbage", "list.xlsx")
    assert not Contact.objects.exists()


def test_an_xlsx_list(campaign):
    book = Workbook()
    sheet = book.active
    sheet.append(["Phone", "Name", "Account"])
    sheet.append([5550111, "Fay", "A-1"])
    sheet.append(["+1 (212) 555-0112", "Gus", None])
    sheet.append(["x", "Bad", None])
    out = io.BytesIO()
    book.save(out)
    report = import_contacts(campaign, out.getvalue(), "list.xlsx")
    assert report.added == 2 and report.errors == [(4, "'x' is not a phone number")]
    assert Contact.objects.get(number="5550111").data == {"account": "A-1"}
    assert Contact.objects.filter(number="+12125550112").exists()
