"""The audit log (ICM-8): who did what to which target, when, and how it went."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One supervisor or administrator action (append-only; never edited)."""

    class Outcome(models.TextChoices):
        OK = "ok", "Done"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    username = models.CharField(max_length=150)  # kept when the user is deleted
    role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=32, db_index=True)
    target_kind = models.CharField(max_length=16)  # agent, call, queue, bulletin …
    target = models.CharField(max_length=128, db_index=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    detail = models.JSONField(default=dict, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["username", "at"], name="audit_user_at_idx")]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.target}: {self.outcome}"
        )
