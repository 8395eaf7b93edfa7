"""The demo tariff plan: local calls to the demo customers (555…), USA / Canada with free
toll-free numbers, and the United Kingdom and France with dearer mobiles — enough to show the
longest prefix winning, 60/60 against 30/6 billing, a connection fee and a minimum."""

from decimal import Decimal

from django.db import transaction

from stats.models import TariffPlan, TariffRate

DEMO_PLAN = "Demo carrier"
DEMO_CURRENCY = "USD"

# prefix, description, price per minute, connection fee, minimum, first / next increment
DEMO_RATES = [
    ("555", "Local (demo customers)", "0.0100", "0", 0, 60, 60),
    ("1", "USA and Canada", "0.0150", "0", 0, 6, 6),
    ("1800", "USA toll-free", "0", "0", 0, 1, 1),
    ("1888", "USA toll-free", "0", "0", 0, 1, 1),
    ("44", "United Kingdom landline", "0.0250", "0", 0, 30, 6),
    ("447", "United Kingdom mobile", "0.1200", "0.0500", 30, 30, 6),
    ("33", "France landline", "0.0300", "0", 0, 30, 6),
    ("336", "France mobile", "0.1100", "0.0500", 30, 30, 6),
    ("337", "France mobile", "0.1100", "0.0500", 30, 30, 6),
]


@transaction.atomic
def load_demo_tariffs() -> int:
    """Create the demo plan, or bring its rates back to the demo values; returns how many
    rows were created or changed (0 on a second run). Other rates of the plan are left."""
    changed = 0
    plan, created = TariffPlan.objects.get_or_create(
        name=DEMO_PLAN, defaults={"currency": DEMO_CURRENCY, "active": True}
    )
    if created:
        changed += 1
    elif (plan.currency, plan.active) != (DEMO_CURRENCY, True):
        plan.currency, plan.active = DEMO_CURRENCY, True
        plan.save(update_fields=["currency", "active"])
        changed += 1
    for prefix, description, price, fee, minimum, first, following in DEMO_RATES:
        values = {
            "description": description,
            "price_per_minute": Decimal(price),
            "connection_fee": Decimal(fee),
            "minimum_seconds": minimum,
            "first_increment": first,
            "next_increment": following,
            "valid_until": None,
        }
        rate, created = TariffRate.objects.get_or_create(
            plan=plan, prefix=prefix, valid_from=None, defaults=values
        )
        stale = [name for name, value in values.items() if getattr(rate, name) != value]
        if not created and stale:
            for name in stale:
                setattr(rate, name, values[name])
            rate.save(update_fields=stale)
        changed += created or bool(stale)
    return changed
