"""Call information (ICM-2): one Call per call UUID, one CallLeg per channel (the CDR)."""

from django.db import models

from .devices import Switch


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"
    INTERNAL = "internal", "Internal"


class CallState(models.TextChoices):
    RINGING = "ringing", "Ringing"
    ANSWERED = "answered", "Answered"
    BRIDGED = "bridged", "Bridged"
    HELD = "held", "Held"
    ENDED = "ended", "Ended"


class Call(models.Model):
    """A call as the customer sees it: all legs sharing FreeSWITCH's Channel-Call-UUID."""

    switch = models.ForeignKey(Switch, on_delete=models.PROTECT, related_name="calls")
    call_uuid = models.CharField(max_length=64)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    ani = models.CharField("caller number (ANI)", max_length=64, blank=True, db_index=True)
    caller_name = models.CharField(max_length=128, blank=True)
    dnis = models.CharField("called number (DNIS)", max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=CallState.choices, default=CallState.RINGING)
    created_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    bridged_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    hangup_cause = models.CharField(max_length=64, blank=True)
    queue = models.ForeignKey(
        "icm.Queue", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    customer = models.ForeignKey(
        "icm.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    attached_data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["switch", "call_uuid"], name="call_unique_per_switch")
        ]
        indexes = [
            models.Index(fields=["state"], name="call_state_idx"),
            # the caller's last agent, asked on every call: without it the planner may
            # walk every call of the last 30 days backwards by date, filtering on the number
            models.Index(fields=["ani", "-created_at"], name="call_ani_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ani} → {self.dnis} ({self.call_uuid})"

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.created_at).total_seconds()


class CallLeg(models.Model):
    """One FreeSWITCH channel of a call."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="legs")
    switch = models.ForeignKey(Switch, on_delete=models.PROTECT, related_name="legs")
    uuid = models.CharField(max_length=64)
    channel_name = models.CharField(max_length=255, blank=True)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    ani = models.CharField(max_length=64, blank=True)
    dnis = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=CallState.choices, default=CallState.RINGING)
    other_leg_uuid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    bridged_at = models.DateTimeField(null=True, blank=True)
    hungup_at = models.DateTimeField(null=True, blank=True)
    hangup_cause = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["switch", "uuid"], name="leg_unique_per_switch")
        ]

    def __str__(self) -> str:
        return f"{self.channel_name or self.uuid}"
