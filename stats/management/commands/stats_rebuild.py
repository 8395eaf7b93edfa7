"""`manage.py stats_rebuild --since YYYY-MM-DD --until YYYY-MM-DD`: re-aggregate every
15-minute window and day of that local date range from the facts (idempotent)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from stats.aggregate import aggregate, mark_range


class Command(BaseCommand):
    help = "Rebuild the statistics' interval tables of a date range from the facts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="first local day, YYYY-MM-DD")
        parser.add_argument("--until", required=True, help="last local day, YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since, until = (
                date.fromisoformat(options["since"]),
                date.fromisoformat(options["until"]),
            )
        except ValueError as exc:
            raise CommandError(f"--since / --until: {exc}") from exc
        if until < since:
            raise CommandError("--until is before --since")
        if (until - since).days > 3660:
            raise CommandError("at most ten years at a time")
        marked = mark_range(since, until)
        done = aggregate()
        self.stdout.write(
            f"rebuilt {since} … {until}: {done['windows']} windows "
            f"({marked} newly marked), {done['days']} days in "
            f"{done['seconds']} s"
        )
