"""The StatServer's interval tables (ST-3, ST-4): per 15 minutes and per local day, written
only by the aggregation (stats.aggregate) from the facts. Sums and counts are stored; the
rates and averages (service level, ASA, AHT, occupancy …) are computed from them when read,
so a day's figures are exactly its intervals' figures."""

from django.db import models


class ContactInterval(models.Model):
    """Per queue, skill or campaign (`dimension`, `key`): what its contacts did."""

    period = models.CharField(max_length=4)  # 15m | day
    start = models.DateTimeField()
    dimension = models.CharField(max_length=8)  # queue | skill | campaign
    key = models.CharField(max_length=64)
    offered = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    abandoned = models.IntegerField(default=0)
    short_abandoned = models.IntegerField(default=0)
    overflowed = models.IntegerField(default=0)
    answered_in_sl = models.IntegerField(default=0)
    wait_answered = models.FloatField(default=0)  # s, summed
    wait_abandoned = models.FloatField(default=0)
    max_wait = models.FloatField(default=0)
    talk = models.FloatField(default=0)
    hold = models.FloatField(default=0)
    wrap = models.FloatField(default=0)
    transfers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "dimension", "key", "start"], name="contact_interval_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dimension} {self.key} {self.period} {self.start}"


class AgentInterval(models.Model):
    """Per agent: seconds in each state (cut at the window's edges) and calls handled."""

    period = models.CharField(max_length=4)
    start = models.DateTimeField()
    agent = models.CharField(max_length=32)
    handled = models.IntegerField(default=0)
    talk = models.FloatField(default=0)
    hold = models.FloatField(default=0)
    wrap = models.FloatField(default=0)
    transfers = models.IntegerField(default=0)
    ready = models.FloatField(default=0)
    reserved = models.FloatField(default=0)
    on_call = models.FloatField(default=0)
    wrap_up = models.FloatField(default=0)
    not_ready = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "agent", "start"], name="agent_interval_key")
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.period} {self.start}"


class NotReadyInterval(models.Model):
    """Per agent and not-ready reason: the seconds in the window."""

    period = models.CharField(max_length=4)
    start = models.DateTimeField()
    agent = models.CharField(max_length=32)
    reason = models.CharField(max_length=64)
    seconds = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "agent", "reason", "start"], name="not_ready_interval_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.reason} {self.period} {self.start}"
