"""The StatServer's facts (ST-1, ST-2): append-only records icm writes as things happen
(icm.domain.facts builds them; icm's persister writes them in batches, retried while
PostgreSQL is away) and a system snapshot every few seconds. Each has a natural key, so a
batch written twice (a retry after a lost reply) adds nothing. Inserting facts marks their
15-minute and daily windows dirty (a statement trigger, see migration 0002), which is how a
fact arriving late gets its window re-aggregated."""

from django.db import models
from django.db.models.functions import Now


class ContactFact(models.Model):
    """One queue contact, once it is over: answered (with its handling), abandoned or
    overflowed. Counted in the window it entered its queue."""

    switch = models.CharField(max_length=64)
    contact_id = models.CharField(max_length=64)
    call_uuid = models.CharField(max_length=64, blank=True)
    queue = models.CharField(max_length=64)
    skill = models.CharField(max_length=64, blank=True)
    campaign = models.CharField(max_length=64, blank=True)
    media = models.CharField(max_length=16, default="voice")
    agent = models.CharField(max_length=32, blank=True)
    entered_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField()
    outcome = models.CharField(max_length=16)  # answered | abandoned | overflowed
    wait_seconds = models.FloatField(default=0)
    talk_seconds = models.FloatField(default=0)
    hold_seconds = models.FloatField(default=0)
    wrap_seconds = models.FloatField(default=0)
    transferred = models.BooleanField(default=False)
    inserted_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["switch", "contact_id", "queue", "entered_at"], name="contact_fact_key"
            )
        ]
        indexes = [
            models.Index(fields=["entered_at"], name="contact_fact_entered_idx"),
            models.Index(fields=["answered_at"], name="contact_fact_answered_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue} {self.contact_id} {self.outcome} at {self.entered_at}"


class QueueEventFact(models.Model):
    """A contact entered its queue, was offered to an agent, answered, abandoned or
    overflowed (the wait so far)."""

    switch = models.CharField(max_length=64)
    kind = models.CharField(max_length=16)
    contact_id = models.CharField(max_length=64)
    call_uuid = models.CharField(max_length=64, blank=True)
    queue = models.CharField(max_length=64)
    at = models.DateTimeField()
    agent = models.CharField(max_length=32, blank=True)
    wait_seconds = models.FloatField(default=0)
    target = models.CharField(max_length=128, blank=True)
    inserted_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["switch", "contact_id", "queue", "kind", "at", "agent"],
                name="queue_event_key",
            )
        ]
        indexes = [models.Index(fields=["at"], name="queue_event_at_idx")]

    def __str__(self) -> str:
        return f"{self.queue} {self.contact_id} {self.kind} at {self.at}"


class AgentStateFact(models.Model):
    """One closed interval of an agent's state (the reason of not ready; the queue and
    contact of a call)."""

    switch = models.CharField(max_length=64)
    agent = models.CharField(max_length=32)
    state = models.CharField(max_length=16)
    reason = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    queue = models.CharField(max_length=64, blank=True)
    contact_id = models.CharField(max_length=64, blank=True)
    inserted_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "started_at", "state"], name="agent_state_fact_key"
            )
        ]
        indexes = [
            models.Index(fields=["started_at"], name="agent_state_fact_start_idx"),
            models.Index(fields=["ended_at"], name="agent_state_fact_end_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.state} {self.started_at} – {self.ended_at}"


class SystemSnapshot(models.Model):
    """Every few seconds: the switch's health, calls up, and per queue and agent state."""

    switch = models.CharField(max_length=64)
    at = models.DateTimeField()
    connected = models.BooleanField()
    calls_up = models.PositiveIntegerField(default=0)
    queues = models.JSONField(default=dict)  # {queue: {"waiting": n, "longest": s}}
    agents = models.JSONField(default=dict)  # {state: n}

    class Meta:
        constraints = [models.UniqueConstraint(fields=["switch", "at"], name="snapshot_key")]
        indexes = [models.Index(fields=["at"], name="snapshot_at_idx")]

    def __str__(self) -> str:
        return f"{self.switch} at {self.at}"


class DirtyWindow(models.Model):
    """A window whose facts changed since it was last aggregated."""

    period = models.CharField(max_length=4)  # 15m | day
    start = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "start"], name="dirty_key")]

    def __str__(self) -> str:
        return f"{self.period} {self.start}"
