"""`manage.py load_demo`: load the demo call center (idempotent; demo passwords only)."""

from typing import Any

from django.core.management.base import BaseCommand

from icm.demo import load_demo


class Command(BaseCommand):
    help = (
        "Load the demo call center: site hq, switch fs1, extensions 1001-1010, agents "
        "a1001-a1010 (password demo), queues, the main-menu flow, routes 8000/8001 and "
        "customers. Users admin/admin and leader/leader. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = load_demo()
        if not summary.changed:
            self.stdout.write(self.style.SUCCESS("Demo data already loaded; nothing changed."))
            return
        for label in sorted(set(summary.created) | set(summary.updated)):
            created, updated = summary.created.get(label, 0), summary.updated.get(label, 0)
            self.stdout.write(f"  {label}: {created} created, {updated} updated")
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
