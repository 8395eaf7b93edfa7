"""Customers (BIZ-1, R-4): looked up by caller number for routing and screen pop."""

from django.db import models

from .devices import digits_validator


class Customer(models.Model):
    """A customer of the business; its grade sets routing priority (R-4)."""

    class Grade(models.TextChoices):
        STANDARD = "standard", "Standard"
        SILVER = "silver", "Silver"
        GOLD = "gold", "Gold"
        VIP = "vip", "VIP"

    name = models.CharField(max_length=200)
    account = models.CharField(max_length=64, unique=True)
    grade = models.CharField(max_length=16, choices=Grade.choices, default=Grade.STANDARD)
    email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account})"


class CustomerNumber(models.Model):
    """One phone number of a customer; ANI lookups hit this table."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="numbers")
    number = models.CharField(max_length=32, db_index=True, validators=[digits_validator])
    label = models.CharField(max_length=32, blank=True, help_text="mobile, office, home …")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "number"], name="customer_number_unique")
        ]

    def __str__(self) -> str:
        return self.number
