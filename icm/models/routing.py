"""Routing data: queues (skill groups), inbound routes, schedules and holidays (ICM-5, R-3)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ivr.sound_files import why_unreachable

from .devices import Site, digits_validator


class Schedule(models.Model):
    """Opening hours: a set of weekly rules plus holidays on which it is closed."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScheduleRule(models.Model):
    """An open interval on one weekday (0 = Monday)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="rules")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["schedule", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="schedule_rule_opens_first"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    """A closed day; with no schedule it closes every schedule."""

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="holidays", null=True, blank=True
    )
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Queue(models.Model):
    """A skill group: contacts wait here and the strategy picks the agent."""

    class Strategy(models.TextChoices):
        LONGEST_IDLE = "longest_idle", "Longest idle agent"
        ROUND_ROBIN = "round_robin", "Round robin"
        TOP_DOWN = "top_down", "Top-down (fixed order)"
        RING_ALL = "ring_all", "Ring all"
        LEAST_TALK_TIME = "least_talk_time", "Least talk time"
        FEWEST_CALLS = "fewest_calls", "Fewest calls"
        RANDOM = "random", "Random"
        SKILLS_BEST_MATCH = "skills_best_match", "Skills-based best match"
        SKILLS_BEST_MATCH_CLOSEST = (
            "skills_best_match_closest",
            "Skills: closest match (keep experts free)",
        )

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="queues")
    name = models.SlugField(max_length=64, unique=True)
    display_name = models.CharField(max_length=100)
    strategy = models.CharField(
        max_length=32, choices=Strategy.choices, default=Strategy.LONGEST_IDLE
    )
    strategy_parameters = models.JSONField(default=dict, blank=True)
    skills = models.ManyToManyField("agents.Skill", through="QueueSkill", blank=True)
    service_level_seconds = models.PositiveIntegerField(
        default=20, help_text="Answered within this many seconds counts as in service level."
    )
    service_level_target = models.PositiveSmallIntegerField(
        default=80, validators=[MaxValueValidator(100)], help_text="Percent."
    )
    wrap_up_seconds = models.PositiveIntegerField(default=10)
    alarm_waiting = models.PositiveIntegerField(
        null=True, blank=True, help_text="Wallboard alarm when more callers than this wait."
    )
    alarm_wait_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Wallboard alarm when a caller has waited longer."
    )
    max_wait_seconds = models.PositiveIntegerField(default=600)
    reserve_threshold = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Reserve agents (R-6) join when more callers than this wait "
        "(empty: never for this reason).",
    )
    reserve_service_level = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Percent: reserve agents also join while the service level of the recent "
        "calls is below this (empty: never for this reason).",
    )
    music_on_hold = models.CharField(max_length=255, default="local_stream://moh")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name

    def clean(self) -> None:
        """Refuse a strategy or parameters the ACD could not run, naming what is wrong."""
        from django.core.exceptions import ValidationError

        from icm.acd_config import policy_from_queue
        from icm.domain.acd.strategies import InvalidPolicy

        try:
            policy_from_queue(self, {})
        except InvalidPolicy as exc:
            raise ValidationError({"strategy_parameters": str(exc)}) from exc
        self._check_greetings()

    def _check_greetings(self) -> None:
        """Each greeting must be a file the switch can play (else callers hear nothing and
        the switch logs FILE NOT FOUND)."""
        from django.core.exceptions import ValidationError

        greetings = (self.strategy_parameters or {}).get("greetings") or {}
        if not isinstance(greetings, dict):
            raise ValidationError(
                {"strategy_parameters": "greetings must map a category to a file"}
            )
        for category, file in sorted(greetings.items()):
            why = why_unreachable(str(file))
            if why:
                raise ValidationError({"strategy_parameters": f"greeting {category!r}: {why}"})


class QueueSkill(models.Model):
    """A skill a queue requires, with the minimum level (1-10)."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="required_skills")
    skill = models.ForeignKey("agents.Skill", on_delete=models.CASCADE)
    minimum_level = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "skill"], name="queue_skill_unique")
        ]

    def __str__(self) -> str:
        return f"{self.queue} needs {self.skill} ≥ {self.minimum_level}"


class QueueAgent(models.Model):
    """How one agent takes one queue's calls (R-6): its place in the top-down order and
    whether it is a reserve. The agent serves the queue by its skills; a row only sets these."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="agent_settings")
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="queue_settings"
    )
    position = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Top-down order: lower is offered first (empty: after the placed agents).",
    )
    reserve = models.BooleanField(
        default=False,
        help_text="Offered this queue's calls only while the queue is busy (see the queue's "
        "reserve threshold and reserve service level).",
    )

    class Meta:
        ordering = ["queue", "position", "agent"]
        verbose_name = "agent in queue"
        verbose_name_plural = "agents in queue"
        constraints = [
            models.UniqueConstraint(fields=["queue", "agent"], name="queue_agent_unique")
        ]

    def __str__(self) -> str:
        role = "reserve" if self.reserve else "agent"
        place = f" #{self.position}" if self.position is not None else ""
        return f"{self.agent} in {self.queue}: {role}{place}"


class InboundRoute(models.Model):
    """Where a dialled number (DNIS) goes: a flow or a queue, optionally only during a schedule."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="inbound_routes")
    name = models.CharField(max_length=100)
    dnis = models.CharField(
        "dialled number", max_length=32, validators=[digits_validator], db_index=True
    )
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    schedule = models.ForeignKey(
        Schedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_routes"
    )
    flow = models.ForeignKey(
        "ivr.Flow", on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_routes"
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_routes"
    )
    closed_flow = models.ForeignKey(
        "ivr.Flow",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="closed_inbound_routes",
        help_text="Flow used outside the schedule (night service).",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["dnis", "priority"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(flow__isnull=False, queue__isnull=True)
                    | models.Q(flow__isnull=True, queue__isnull=False)
                ),
                name="inbound_route_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dnis} → {self.flow or self.queue}"


class RoutingRule(models.Model):
    """Route on system information (R-3): dialled number, caller-number prefix (area code),
    and whether a schedule is open (time of day, weekday, holidays) → target queue.
    Rules are tried by priority before the inbound route's own queue or flow."""

    class When(models.TextChoices):
        ALWAYS = "always", "Always"
        OPEN = "open", "While the schedule is open"
        CLOSED = "closed", "While the schedule is closed (nights, holidays)"

    name = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    dnis = models.CharField(
        "dialled number",
        max_length=32,
        blank=True,
        validators=[digits_validator],
        help_text="Empty: any number.",
    )
    caller_prefix = models.CharField(
        max_length=32,
        blank=True,
        validators=[digits_validator],
        help_text="Caller numbers starting with this (e.g. an area code). Empty: any caller.",
    )
    schedule = models.ForeignKey(
        Schedule, on_delete=models.PROTECT, null=True, blank=True, related_name="routing_rules"
    )
    when = models.CharField(max_length=8, choices=When.choices, default=When.ALWAYS)
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="routing_rules")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(when="always") | models.Q(schedule__isnull=False),
                name="routing_rule_schedule_for_when",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.queue}"


class ScheduledQueueChange(models.Model):
    """A strategy change prepared now and applied at `apply_at` (R-10); waiting calls stay."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="scheduled_changes")
    apply_at = models.DateTimeField(db_index=True)
    strategy = models.CharField(max_length=32, choices=Queue.Strategy.choices)
    strategy_parameters = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["apply_at"]

    def __str__(self) -> str:
        return f"{self.queue} → {self.strategy} at {self.apply_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        """Refuse, at scheduling time, a change the ACD could not run."""
        from django.core.exceptions import ValidationError

        from icm.acd_config import policy_from_queue
        from icm.domain.acd.strategies import InvalidPolicy

        if self.queue_id is None:
            return
        trial = Queue(
            name=self.queue.name,
            strategy=self.strategy,
            strategy_parameters=self.strategy_parameters,
            wrap_up_seconds=self.queue.wrap_up_seconds,
            service_level_seconds=self.queue.service_level_seconds,
            max_wait_seconds=self.queue.max_wait_seconds,
        )
        try:
            policy_from_queue(trial, {})
        except InvalidPolicy as exc:
            raise ValidationError({"strategy_parameters": str(exc)}) from exc
