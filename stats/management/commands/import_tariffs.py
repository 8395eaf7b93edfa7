"""`manage.py import_tariffs <plan> <file.csv>`: load a plan's rates from CSV, row by row."""

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stats.actions import COLUMNS, TariffFileError, check_import_rates
from stats.models import TariffPlan


class Command(BaseCommand):
    help = (
        f"Import rates into a tariff plan from CSV (',' or ';'; header: {', '.join(COLUMNS)}; "
        "prefix and price_per_minute required, empty cells take the defaults, dates "
        "YYYY-MM-DD). A row with a stored rate's prefix and valid_from replaces it. Bad rows "
        "are reported with their line number and skipped; the good ones are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("plan", help="the tariff plan's name")
        parser.add_argument("file", help="the CSV file, or - for standard input")
        parser.add_argument("--currency", help="create the plan in this currency if missing")

    def handle(self, *args: Any, **options: Any) -> None:
        plan = self._plan(options["plan"], options["currency"])
        path = options["file"]
        try:
            with open(
                sys.stdin.fileno() if path == "-" else path,
                encoding="utf-8-sig",
                newline="",
                closefd=path != "-",
            ) as lines:
                report = check_import_rates(plan, lines)
        except (OSError, UnicodeDecodeError, TariffFileError) as error:
            raise CommandError(f"{path}: {error}") from error
        for line, why in report.errors:
            self.stderr.write(f"{path}:{line}: {why}")
        self.stdout.write(f"{plan}: {report.created} rates created, {report.updated} updated.")
        if report.errors:
            raise CommandError(f"{len(report.errors)} rows rejected; the others were imported.")

    def _plan(self, name: str, currency: str | None) -> TariffPlan:
        plan = TariffPlan.objects.filter(name=name).first()
        if plan is None and currency is None:
            raise CommandError(f"no tariff plan {name!r} (--currency creates it)")
        if plan is None:
            plan = TariffPlan(name=name, currency=currency)
            try:
                plan.full_clean()
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from error
            plan.save()
        elif currency not in (None, plan.currency):
            raise CommandError(f"plan {name!r} is in {plan.currency}, not {currency}")
        return plan
