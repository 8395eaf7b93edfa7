"""Cells of the files people open in a spreadsheet (CSV, XLSX): every export writes its cells
through `safe_cell`, so text a spreadsheet would run as a formula stays text (issue 18).

A cell of text starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with a
single quote, as OWASP recommends against "CSV injection": a caller's name, a not-ready reason
or a disposition note such as `=HYPERLINK("http://evil", "click")` or `@SUM(...)` shows as
typed instead of running in a supervisor's Excel. Numbers (int, float, Decimal), dates and
times stay numbers and dates; so does text that is nothing but a plain number (`-5`, `+44207…`,
`-0.13`): no formula can hide in it, and E.164 numbers stay readable.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_KEPT = (int, float, Decimal, date, time, timedelta)  # bool is an int, datetime a date


def safe_cell(value: Any) -> Any:
    """`value` as a cell: None is empty; numbers and dates as they are; text that a
    spreadsheet would take for a formula prefixed with a single quote."""
    if value is None:
        return ""
    if isinstance(value, _KEPT):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(values: Iterable[Any]) -> list[Any]:
    """A row of cells, each through `safe_cell` (for openpyxl's `sheet.append`)."""
    return [safe_cell(v) for v in values]


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """`rows` as CSV text (the csv module's quoting), every cell through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(safe_row(row))
    return out.getvalue()
