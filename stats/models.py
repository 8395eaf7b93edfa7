"""Models of stats: tariff plans and their rates (OPS-1), the data the pure rating core
(`stats.tariffs`) is loaded from."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from stats.tariffs import Rate, periods_overlap

PREFIX_DIGITS = RegexValidator(
    r"^[0-9]+\Z", "Digits only, as normalised: no +, no 00, no spaces (e.g. 44 or 447)."
)
CURRENCY_CODE = RegexValidator(r"^[A-Z]{3}\Z", "An ISO 4217 code in capitals, e.g. EUR or USD.")
NOT_NEGATIVE = MinValueValidator(0)
ONE_SECOND = MinValueValidator(1)
# Six decimals: carriers quote per-minute prices finer than the currency's minor unit.
MONEY = {"max_digits": 12, "decimal_places": 6, "validators": [NOT_NEGATIVE]}


class TariffPlan(models.Model):
    name = models.CharField(max_length=100, unique=True)
    currency = models.CharField(max_length=3, default="EUR", validators=[CURRENCY_CODE])
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class TariffRate(models.Model):
    plan = models.ForeignKey(TariffPlan, on_delete=models.CASCADE, related_name="rates")
    prefix = models.CharField(max_length=20, validators=[PREFIX_DIGITS])
    description = models.CharField(max_length=200, blank=True)
    price_per_minute = models.DecimalField(**MONEY)
    connection_fee = models.DecimalField(**MONEY, default=0, help_text="Once per answered leg.")
    minimum_seconds = models.PositiveIntegerField(default=0, help_text="Billed at least this.")
    first_increment = models.PositiveIntegerField(
        default=60, validators=[ONE_SECOND], help_text="Seconds billed whole first (60 in 60/60)."
    )
    next_increment = models.PositiveIntegerField(
        default=60, validators=[ONE_SECOND], help_text="Then in steps of (6 in 30/6)."
    )
    valid_from = models.DateField(null=True, blank=True, help_text="First day; empty: always.")
    valid_until = models.DateField(
        null=True, blank=True, help_text="First day it no longer applies; empty: no end."
    )

    class Meta:
        ordering = ["plan", "prefix", "valid_from"]
        constraints = [
            # nulls_distinct=False: two open-ended rates for one prefix are one too many.
            models.UniqueConstraint(
                fields=["plan", "prefix", "valid_from"],
                nulls_distinct=False,
                name="tariff_rate_unique_start",
                violation_error_message="This plan already has a rate for this prefix "
                "starting that day.",
            ),
            models.CheckConstraint(condition=Q(prefix__regex=r"^[0-9]+$"), name="tariff_digits"),
            models.CheckConstraint(
                condition=Q(first_increment__gte=1, next_increment__gte=1),
                name="tariff_increments_1s",
            ),
            models.CheckConstraint(
                condition=Q(price_per_minute__gte=0, connection_fee__gte=0),
                name="tariff_prices_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="tariff_valid_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} {self.description}".strip()

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "Must be after valid from."})
        if self.plan_id is None or not self.prefix:
            return
        others = TariffRate.objects.filter(plan_id=self.plan_id, prefix=self.prefix)
        for other in others.exclude(pk=self.pk) if self.pk else others:
            if periods_overlap(
                self.valid_from, self.valid_until, other.valid_from, other.valid_until
            ):
                raise ValidationError(
                    f"Overlaps the rate for {self.prefix} valid "
                    f"{other.valid_from or '…'} – {other.valid_until or '…'}: one rate a day "
                    "per prefix."
                )

    def as_rate(self) -> Rate:
        return Rate(
            prefix=self.prefix,
            description=self.description,
            price_per_minute=self.price_per_minute,
            connection_fee=self.connection_fee,
            minimum_seconds=self.minimum_seconds,
            first_increment=self.first_increment,
            next_increment=self.next_increment,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


from stats.cost_models import GatewayTariff, LegCost, LegKind  # noqa: E402  (call costs)
from stats.fact_models import (  # noqa: E402  (the facts and interval tables: their modules)
    AgentStateFact,
    ContactFact,
    DirtyWindow,
    QueueEventFact,
    SystemSnapshot,
)
from stats.interval_models import AgentInterval, ContactInterval, NotReadyInterval  # noqa: E402

__all__ = [
    "AgentInterval",
    "AgentStateFact",
    "ContactFact",
    "ContactInterval",
    "DirtyWindow",
    "GatewayTariff",
    "LegCost",
    "LegKind",
    "NotReadyInterval",
    "QueueEventFact",
    "SystemSnapshot",
    "TariffPlan",
    "TariffRate",
]
