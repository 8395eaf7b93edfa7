"""Models of call costs (OPS-1): which tariff plan a trunk bills by, and one rated row per
outbound or transferred-out trunk leg (`stats.costing` writes them, the reports sum them)."""

from django.db import models

from stats.models import TariffPlan


class GatewayTariff(models.Model):
    """The plan a trunk's legs are rated by; a trunk without one uses the default plan (the
    first active plan by name)."""

    gateway = models.OneToOneField("icm.Gateway", on_delete=models.CASCADE, related_name="tariff")
    plan = models.ForeignKey(TariffPlan, on_delete=models.PROTECT, related_name="gateways")

    class Meta:
        ordering = ["gateway"]

    def __str__(self) -> str:
        return f"{self.gateway} → {self.plan.name}"


class LegKind(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"  # an agent's own call, a call-back, a dialled call
    TRANSFER_OUT = "transfer_out", "Transferred out"  # a customer's call sent to a number


class LegCost(models.Model):
    """What one ended trunk leg cost. Names, not keys (as the facts): a renamed queue or a
    deleted plan does not rewrite what was billed. `cost` is empty when the destination has
    no rate (`unrated`): such legs are counted and listed, never priced at zero."""

    switch = models.CharField(max_length=64)
    leg_uuid = models.CharField(max_length=64)
    call_uuid = models.CharField(max_length=64)
    started_at = models.DateTimeField()  # the leg's creation (reports count it on that day)
    answered_seconds = models.FloatField(default=0)
    number = models.CharField(max_length=64, blank=True)  # as dialled
    gateway = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=LegKind.choices)
    queue = models.CharField(max_length=64, blank=True)
    agent = models.CharField(max_length=32, blank=True)
    campaign = models.CharField(max_length=64, blank=True)
    plan = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=20, blank=True)
    destination = models.CharField(max_length=200, blank=True)  # the rate's description
    billed_seconds = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    rated_at = models.DateTimeField()
    unrated = models.BooleanField(default=False)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(fields=["switch", "leg_uuid"], name="leg_cost_unique_leg")
        ]
        indexes = [models.Index(fields=["started_at"], name="leg_cost_started_idx")]

    def __str__(self) -> str:
        return f"{self.number} via {self.gateway}: {self.cost} {self.currency}"
