"""`manage.py import_contacts <campaign> <file.csv|file.xlsx>`: add a contact list to a
campaign; bad rows are reported as `file:line: why` and the good ones kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from outbound.importing import BadList, import_contacts
from outbound.models import Campaign


class Command(BaseCommand):
    help = "Import a contact list (CSV or XLSX) into a campaign."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.filter(name=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign {options['campaign']!r}")
        path: Path = options["file"]
        try:
            report = import_contacts(campaign, path.read_bytes(), path.name)
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        except BadList as exc:
            raise CommandError(f"{path}: {exc}") from exc
        for line, why in report.errors:
            self.stderr.write(f"{path.name}:{line}: {why}")
        self.stdout.write(
            f"{report.added} contacts added, {len(report.errors)} rows refused of {report.rows}"
        )
        if report.errors:
            raise SystemExit(1)
