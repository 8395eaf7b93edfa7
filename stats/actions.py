"""Writes of stats: importing a tariff plan's rates from CSV, row by row — a bad row is
reported with its line number and skipped, the good ones are kept."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from stats.models import TariffPlan, TariffRate

COLUMNS = (
    "prefix",
    "description",
    "price_per_minute",
    "connection_fee",
    "minimum_seconds",
    "first_increment",
    "next_increment",
    "valid_from",
    "valid_until",
)
REQUIRED = ("prefix", "price_per_minute")


class TariffFileError(ValueError):
    """The file cannot be read as rates at all (its header); nothing was imported."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


def _reader(stream: Iterator[str]) -> csv.DictReader[str]:
    header = next(stream, "")
    # Spreadsheets in comma-decimal locales write ";": take the separator the header uses.
    delimiter = max(",;\t", key=header.count)
    cells = next(csv.reader([header], delimiter=delimiter), [])
    names = [name.strip().lower() for name in cells]
    unknown = sorted(set(names) - set(COLUMNS))
    missing = [name for name in REQUIRED if name not in names]
    if unknown or missing or len(set(names)) != len(names):
        raise TariffFileError(
            f"line 1: the header needs {', '.join(REQUIRED)} and may have {', '.join(COLUMNS)}"
            f" once each (unknown: {', '.join(unknown) or 'none'}; "
            f"missing: {', '.join(missing) or 'none'})"
        )
    return csv.DictReader(stream, fieldnames=names, delimiter=delimiter)


def _messages(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return "; ".join(error.messages)
    return "; ".join(
        message if name == NON_FIELD_ERRORS else f"{name}: {message}"
        for name, messages in error.message_dict.items()
        for message in messages
    )


def _rate_from_row(plan: TariffPlan, row: dict[str, Any]) -> TariffRate:
    """The row as a rate, fields cleaned; the stored one of the same prefix and start if any
    (the file's values replace it). Empty cells take the field's default."""
    values: dict[str, Any] = {}
    for name in COLUMNS:
        cell = (row.get(name) or "").strip()
        values[name] = cell if cell else TariffRate._meta.get_field(name).get_default()
    rate = TariffRate(plan=plan, **values)
    rate.clean_fields()
    stored = (
        TariffRate.objects.filter(plan=plan, prefix=rate.prefix, valid_from=rate.valid_from)
        .values_list("pk", flat=True)
        .first()
    )
    if stored is not None:
        rate.pk, rate._state.adding = stored, False
    return rate


@transaction.atomic
def check_import_rates(plan: TariffPlan, lines: Iterable[str]) -> ImportReport:
    """Import `lines` (CSV with a header naming COLUMNS) into `plan`. A row with the prefix
    and valid-from date of a stored rate replaces it; a row repeating an earlier row's key is
    an error. Raises TariffFileError when the header is unusable."""
    report = ImportReport()
    reader = _reader(iter(lines))
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num + 1  # the header was read before the reader
        if None in row or None in row.values():
            report.errors.append((line, f"{len(reader.fieldnames or ())} cells expected"))
            continue
        key = (row["prefix"].strip(), (row.get("valid_from") or "").strip())
        if key in seen:
            report.errors.append((line, f"same prefix and valid from as line {seen[key]}"))
            continue
        seen[key] = line
        try:
            with transaction.atomic():
                rate = _rate_from_row(plan, row)
                created = rate._state.adding
                rate.full_clean()
                rate.save()
        except ValidationError as error:
            report.errors.append((line, _messages(error)))
            continue
        report.created += created
        report.updated += not created
    return report
