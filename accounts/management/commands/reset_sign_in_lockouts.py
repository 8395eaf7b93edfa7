"""`manage.py reset_sign_in_lockouts`: unlock an account, a client address, or everything."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import throttle


class Command(BaseCommand):
    help = (
        "Forget failed sign-ins: of an account (user name or agent ID) from every address, "
        "of a client address, of that pair when both are given, or all of them with --all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", help="user name (web) or agent ID (phone bar)")
        parser.add_argument("--address", help="client address, e.g. 203.0.113.7")
        parser.add_argument("--all", action="store_true", help="every lock-out")

    def handle(self, *args: Any, **options: Any) -> None:
        account, address = options.get("account"), options.get("address")
        if not options.get("all") and account is None and address is None:
            raise CommandError("name --account, --address, or --all")
        removed = throttle.reset(account=account, address=address)
        self.stdout.write(f"removed {removed} sign-in failure counter(s)")
