"""The system event history (SV-14): alarms raised and cleared, switch connections lost and
regained, icm started and stopped — append-only, written by icm, kept for fault analysis."""

from django.db import models


class SystemEvent(models.Model):
    class Kind(models.TextChoices):
        ALARM_RAISED = "alarm_raised", "Alarm raised"
        ALARM_CLEARED = "alarm_cleared", "Alarm cleared"
        SWITCH_CONNECTED = "switch_connected", "Switch connected"
        SWITCH_DISCONNECTED = "switch_disconnected", "Switch disconnected"
        ICM_STARTED = "icm_started", "icm started"
        ICM_STOPPED = "icm_stopped", "icm stopped"

    at = models.DateTimeField(db_index=True)
    switch = models.CharField(max_length=64)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # alarm kind (queue_waiting, queue_wait, service_level, switch, database, not_ready …)
    alarm = models.CharField(max_length=32, blank=True)
    subject = models.CharField(max_length=128, blank=True)
    severity = models.CharField(max_length=16, blank=True)
    text = models.CharField(max_length=300, blank=True)
    # for a cleared alarm: when it was raised (its duration is at − raised_at)
    raised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["kind", "at"], name="system_event_kind_at_idx")]
        constraints = [
            # written again by icm's outbox after a lost commit reply: skipped (issue 21)
            models.UniqueConstraint(
                fields=["switch", "kind", "at", "alarm", "subject"], name="system_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.switch} {self.kind} {self.text}"
