"""The audit log (ICM-8: who did what to which target, when, how it went) and bulletins with
their read receipts (SV-12), and standing intercepts (SV-9)."""

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


class Bulletin(models.Model):
    """A notice from a supervisor to all agents, a work group or one agent (SV-12)."""

    class Priority(models.TextChoices):
        NORMAL = "normal", "Normal"
        URGENT = "urgent", "Urgent"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    text = models.TextField(max_length=1000)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    target_kind = models.CharField(max_length=8)  # all | group | agent
    target = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.author_name} → {self.target_kind} {self.target}: {self.text[:40]}"


class BulletinReceipt(models.Model):
    """One recipient of a bulletin, and when it read it (the read receipt)."""

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="receipts")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bulletin", "agent"], name="bulletin_receipt_once")
        ]
        indexes = [models.Index(fields=["agent", "read_at"], name="bulletin_unread_idx")]

    def __str__(self) -> str:
        return f"{self.bulletin_id} → {self.agent_id}: {'read' if self.read_at else 'unread'}"


class StandingIntercept(models.Model):
    """A team leader's standing intercept (SV-9): every call the agent connects to between
    `starts_at` and `ends_at` rings `extension` and, answered, listens to it (eavesdrop)."""

    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    extension = models.CharField(max_length=32, help_text="The phone that listens.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"intercept {self.agent_id} until {self.ends_at:%Y-%m-%d %H:%M}"
