"""Writes the phones' registration state of one switch to CallCenterDB (the admin's extension
list shows it); the outbox calls it with the latest state, which replaces the switch's rows."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from icm.domain.registrations import PhoneState
from icm.models import ExtensionRegistration


def write_registrations(switch: str, phones: dict[str, PhoneState]) -> None:
    rows = [
        ExtensionRegistration(
            switch=switch,
            user=phone.user[:64],
            registered=phone.registered,
            why=phone.why,
            contact=phone.contact[:255],
            network_ip=phone.network_ip[:64],
            user_agent=phone.user_agent[:255],
            since=datetime.fromtimestamp(phone.since, tz=UTC),
        )
        for phone in phones.values()
    ]
    with transaction.atomic():
        ExtensionRegistration.objects.filter(switch=switch).exclude(user__in=list(phones)).delete()
        ExtensionRegistration.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["switch", "user"],
            update_fields=["registered", "why", "contact", "network_ip", "user_agent", "since"],
        )
