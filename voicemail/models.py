"""Mailboxes and their messages (IVR-7): a mailbox belongs to an agent, a queue or a
department; each message is a recording the switch made of a caller, filed by icm."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

DEPARTMENT_NAME = RegexValidator(
    r"^[A-Za-z0-9_.-]{1,64}$", "Letters, digits, . _ - (64 at most), as in an IVR node."
)


class Mailbox(models.Model):
    """Where callers leave messages. An IVR voicemail node names it by owner:
    `agent:<login id>`, `queue:<name>` or `department:<name>` (see voicemail.filing)."""

    class Kind(models.TextChoices):
        AGENT = "agent", "Agent"
        QUEUE = "queue", "Queue"
        DEPARTMENT = "department", "Department"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    agent = models.OneToOneField(
        "agents.Agent", on_delete=models.CASCADE, null=True, blank=True, related_name="mailbox"
    )
    queue = models.OneToOneField(
        "icm.Queue", on_delete=models.CASCADE, null=True, blank=True, related_name="mailbox"
    )
    department = models.CharField(
        max_length=64, blank=True, validators=[DEPARTMENT_NAME], help_text="Department name."
    )
    members = models.ManyToManyField(
        "agents.Agent",
        blank=True,
        related_name="shared_mailboxes",
        help_text="Agents who may open this box besides its owner (a department's staff).",
    )
    pin = models.CharField(
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{4,12}$", "4 to 12 digits.")],
        help_text="Optional PIN for listening by phone.",
    )
    emails = models.TextField(
        blank=True, help_text="Addresses each new message is sent to (one a line or commas)."
    )
    greeting = models.CharField(
        max_length=500,
        blank=True,
        help_text="What callers hear before the tone: a sound file path, or text spoken by TTS.",
    )
    max_seconds = models.PositiveIntegerField(default=120, help_text="Longest message.")
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages older than this are deleted (empty: default)."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "mailboxes"
        ordering = ["kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["department"],
                condition=models.Q(kind="department"),
                name="mailbox_department_unique",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="agent", agent__isnull=False, queue__isnull=True)
                    | models.Q(kind="queue", queue__isnull=False, agent__isnull=True)
                    | models.Q(kind="department", agent__isnull=True, queue__isnull=True)
                    & ~models.Q(department="")
                ),
                name="mailbox_has_its_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.owner

    @property
    def owner(self) -> str:
        """The owner as an IVR node names it (`agent:a1001`, `queue:support` …)."""
        if self.kind == self.Kind.AGENT:
            return f"agent:{self.agent.login_id}"
        if self.kind == self.Kind.QUEUE:
            return f"queue:{self.queue.name}"
        return f"department:{self.department}"

    def email_list(self) -> list[str]:
        return [a.strip() for a in self.emails.replace(",", "\n").splitlines() if a.strip()]


class VoicemailMessage(models.Model):
    """One message left in a mailbox (or forwarded to it)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="messages")
    caller_number = models.CharField(max_length=64, blank=True)
    caller_name = models.CharField(max_length=100, blank=True)
    call_uuid = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField()
    duration = models.FloatField(default=0, help_text="Seconds.")
    path = models.CharField(max_length=500, help_text="The WAV file the switch wrote.")
    heard_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=150, blank=True, help_text="A user or retention.")
    forwarded_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="forwards"
    )
    forwarded_by = models.CharField(max_length=150, blank=True)
    # follow-ups (voicemail.delivery): each done once, retried by Celery when it failed
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=300, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    callback = models.ForeignKey(
        "agents.ScheduledCallback",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The call-back a queue's message became (the ACD routes it).",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["mailbox", "deleted_at", "heard_at"], name="voicemail_box_idx"),
            models.Index(
                fields=["received_at"],
                condition=models.Q(delivered_at__isnull=True),
                name="voicemail_undelivered_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.pk} in {self.mailbox_id} from {self.caller_number}"

    @property
    def heard(self) -> bool:
        return self.heard_at is not None


class VoicemailAccess(models.Model):
    """Every listen, change and refusal on a message (like recordings' operation log)."""

    class Kind(models.TextChoices):
        LISTEN = "listen", "Listened"
        HEARD = "heard", "Marked heard"
        DELETE = "delete", "Deleted"
        FORWARD = "forward", "Forwarded"
        REFUSED = "refused", "Refused"
        EMAIL = "email", "Emailed"

    message = models.ForeignKey(VoicemailMessage, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    username = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} {self.kind} message {self.message_id}"
