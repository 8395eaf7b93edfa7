"""A report (stats.reports.Report) as CSV or XLSX (openpyxl): the header, the rows, then the
totals — the very numbers the page and the API show, numbers kept as numbers in XLSX. Every
cell goes through ipbx_project.spreadsheet, which keeps text from running as a formula."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from ipbx_project.spreadsheet import csv_text, safe_row
from stats.reports import Report


def _value(row: dict[str, Any], key: str) -> Any:
    value = row.get(key)
    return "" if value is None else value


def as_csv(report: Report) -> str:
    rows = [[c.label for c in report.columns]]
    rows += [[_value(row, c.key) for c in report.columns] for row in report.rows]
    if report.totals:
        rows.append(
            [
                ("Total" if i == 0 else _value(report.totals, c.key))
                for i, c in enumerate(report.columns)
            ]
        )
    return csv_text(rows)


def as_xlsx(report: Report) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = report.name[:31]
    sheet.append(safe_row([report.title]))
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(safe_row(f"{k}: {v}" for k, v in report.filters.items() if v))
    sheet.append(safe_row(c.label for c in report.columns))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in report.rows:
        sheet.append(safe_row(_number(_value(row, c.key), c.kind) for c in report.columns))
    if report.totals:
        sheet.append(
            safe_row(
                ("Total" if i == 0 else _number(_value(report.totals, c.key), c.kind))
                for i, c in enumerate(report.columns)
            )
        )
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for i, column in enumerate(report.columns, start=1):
        sheet.column_dimensions[sheet.cell(3, i).column_letter].width = max(
            10, len(column.label) + 2
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value: Any, kind: str) -> Any:
    if kind == "money" and isinstance(value, str) and value:
        try:
            return float(value)
        except ValueError:
            return value
    return value
