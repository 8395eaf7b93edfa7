"""Contact lists into a campaign (issue 9 item 1): CSV (UTF-8, with or without BOM; `,` `;`
or tab) or XLSX (the first sheet), validated row by row. Good rows are kept; each bad row is
reported with its line number and why — a number that is not one, a duplicate (in the file
or already in the campaign), a number on the do-not-call list, an unknown time zone, a line
that is not UTF-8 — and never stops the others.

The header names the columns: `number` (or phone / phone_number / telephone / msisdn) is
required; `name`, `time_zone` (or tz, timezone) are optional; any other column is kept as the
contact's data, shown to the agent. Numbers are normalised: spaces, dots, dashes, slashes and
brackets dropped, a leading 00 becomes +.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction

from outbound.models import NUMBER_PATTERN, Campaign, Contact, DoNotCall

NUMBER_COLUMNS = ("number", "phone", "phone_number", "telephone", "msisdn", "mobile")
NAME_COLUMNS = ("name", "full_name", "contact", "customer")
ZONE_COLUMNS = ("time_zone", "timezone", "tz")
MAX_ROWS = 500_000
_SEPARATORS = re.compile(r"[\s().\-/]")
_NUMBER = re.compile(NUMBER_PATTERN)


class BadList(ValueError):
    """A file that cannot be read at all (no header, no number column, not CSV / XLSX)."""


@dataclass
class ImportReport:
    added: int = 0
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, why)

    def as_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "rows": self.rows,
            "rejected": len(self.errors),
            "errors": [{"line": n, "why": why} for n, why in self.errors[:1000]],
        }


def normalise(raw: str) -> str | None:
    """The number as dialled (digits, maybe a leading +), or None when it is not one."""
    text = _SEPARATORS.sub("", str(raw or ""))
    if text.startswith("00"):
        text = "+" + text[2:]
    return text if _NUMBER.fullmatch(text) else None


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str] | None, str]]:
    """(line number, cells or None, why) for each line of a CSV file."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.splitlines()
    if not lines:
        raise BadList("the file is empty")
    try:
        sample = lines[0].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadList("the header line is not UTF-8: save the file as CSV UTF-8") from exc
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None, "not UTF-8 text (save the file as CSV UTF-8)"
            continue
        if not text.strip():
            continue
        yield number, next(csv.reader([text], dialect)), ""


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str] | None, str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise BadList(f"not a readable XLSX file ({exc.__class__.__name__})") from exc
    sheet = book.worksheets[0]
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [
            ""
            if v is None
            else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
            for v in row
        ]
        if any(c.strip() for c in cells):
            yield number, cells, ""


def rows_of(data: bytes, filename: str) -> Iterator[tuple[int, list[str] | None, str]]:
    if filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        return _xlsx_rows(data)
    return _csv_rows(data)


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    for i, name in enumerate(header):
        if name in names:
            return i
    return None


def import_contacts(
    campaign: Campaign, data: bytes, filename: str = "contacts.csv"
) -> ImportReport:
    """Add the file's good rows to `campaign`; the report lists the others."""
    report = ImportReport()
    rows = rows_of(data, filename)
    first = next(rows, None)
    if first is None or first[1] is None:
        raise BadList("no header line (number, name, time_zone, …)")
    header = [c.strip().lower().replace(" ", "_") for c in first[1]]
    at_number = _pick(header, NUMBER_COLUMNS)
    if at_number is None:
        raise BadList(
            f"no number column (one of {', '.join(NUMBER_COLUMNS)}); the header "
            f"has: {', '.join(h for h in header if h) or 'nothing'}"
        )
    at_name, at_zone = _pick(header, NAME_COLUMNS), _pick(header, ZONE_COLUMNS)
    extra = [(i, h) for i, h in enumerate(header) if h and i not in (at_number, at_name, at_zone)]
    existing = set(campaign.contacts.values_list("number", flat=True))
    blocked = set(DoNotCall.objects.values_list("number", flat=True))
    seen: dict[str, int] = {}
    good: list[Contact] = []
    for line, cells, why in rows:
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.errors.append((line, f"more than {MAX_ROWS} rows: the rest is not read"))
            break
        if cells is None:
            report.errors.append((line, why))
            continue
        if len(cells) <= at_number:
            report.errors.append((line, f"{len(cells)} cells: no number column here"))
            continue
        number = normalise(cells[at_number])
        if number is None:
            report.errors.append((line, f"{cells[at_number]!r} is not a phone number"))
            continue
        if number in seen:
            report.errors.append((line, f"{number} is a duplicate of line {seen[number]}"))
            continue
        if number in existing:
            report.errors.append((line, f"{number} is already in this campaign"))
            continue
        if number in blocked or number.lstrip("+") in blocked:
            report.errors.append((line, f"{number} is on the do-not-call list: not added"))
            continue
        zone = cells[at_zone].strip() if at_zone is not None and at_zone < len(cells) else ""
        if zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                report.errors.append((line, f"unknown time zone {zone!r} (e.g. Europe/Paris)"))
                continue
        seen[number] = line
        name = cells[at_name].strip()[:128] if at_name is not None and at_name < len(cells) else ""
        data = {h: cells[i] for i, h in extra if i < len(cells) and cells[i]}
        good.append(
            Contact(
                campaign=campaign,
                number=number,
                time_zone=zone,
                source_line=line,
                name=name,
                data=data,
            )
        )
    with transaction.atomic():
        Contact.objects.bulk_create(good, batch_size=2000)
    report.added = len(good)
    return report
