"""Agents, skills with levels, work groups, and the append-only agent state log (ICM-6)."""

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Skill(models.Model):
    """Something an agent can do: a language, a product, a service area (R-5)."""

    name = models.SlugField(max_length=64, unique=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkGroup(models.Model):
    """A team of agents led by one or more team leaders (SV-13, ICM-8 scope)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=200, blank=True)
    leaders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="led_work_groups"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """A person who takes contacts; signs in to the phone bar with login ID and password (AG-1)."""

    class Level(models.IntegerChoices):
        TRAINEE = 1, "Trainee"
        AGENT = 2, "Agent"
        SENIOR = 3, "Senior agent"
        TEAM_LEADER = 4, "Team leader"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agent",
    )
    login_id = models.CharField("agent ID", max_length=32, unique=True)
    name = models.CharField(max_length=100)
    phone_bar_password = models.CharField(max_length=128, help_text="Stored hashed.")
    extension = models.ForeignKey(
        "icm.Extension", on_delete=models.SET_NULL, null=True, blank=True, related_name="agents"
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.AGENT)
    work_groups = models.ManyToManyField(WorkGroup, blank=True, related_name="agents")
    skills = models.ManyToManyField(Skill, through="AgentSkill", blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["login_id"]

    def __str__(self) -> str:
        return f"{self.login_id} {self.name}"

    def set_phone_bar_password(self, raw_password: str) -> None:
        """Hash and store the phone-bar password."""
        self.phone_bar_password = make_password(raw_password)

    def check_phone_bar_password(self, raw_password: str) -> bool:
        """True when `raw_password` matches the stored hash."""
        return check_password(raw_password, self.phone_bar_password)


class AgentSkill(models.Model):
    """An agent's level (1-10) in one skill."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="agent_skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agent_skills")
    level = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        ordering = ["agent", "-level"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="agent_skill_unique"),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=10), name="agent_skill_level_1_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent.login_id}: {self.skill} {self.level}"


class AgentStateChange(models.Model):
    """Append-only log of agent state transitions (persisted by icm, aggregated by stats)."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="state_changes")
    switch = models.ForeignKey(
        "icm.Switch", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32)
    reason = models.CharField(max_length=64, blank=True)
    call_uuid = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["agent", "at"], name="agent_state_agent_at_idx")]

    def __str__(self) -> str:
        return f"{self.agent.login_id}: {self.from_state} → {self.to_state} at {self.at}"


class NotReadyReason(models.Model):
    """A reason an agent may give for not ready (AG-2): break, lunch, training …"""

    code = models.SlugField(max_length=32, unique=True)
    label = models.CharField(max_length=100)
    paid = models.BooleanField(default=True, help_text="Counts as working time in reports.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label


class Disposition(models.Model):
    """How a contact ended, chosen by the agent in wrap-up (sale, resolved, call back …)."""

    code = models.SlugField(max_length=32, unique=True)
    label = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label


class ContactNote(models.Model):
    """An agent's wrap-up of one contact: disposition and notes (append-only)."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="contact_notes")
    call_uuid = models.CharField(max_length=64, db_index=True)
    disposition = models.ForeignKey(
        Disposition, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    notes = models.TextField(blank=True, max_length=4000)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.agent.login_id} {self.call_uuid}: {self.disposition or '-'}"


class DialRule(models.Model):
    """An outbound dialing restriction by agent level (AG-16): numbers matching `pattern`
    need at least `minimum_level`; the first enabled matching rule (by priority) decides."""

    name = models.CharField(max_length=100)
    pattern = models.CharField(
        max_length=100, help_text="Regular expression on the dialled digits, e.g. ^1900 or ^00."
    )
    minimum_level = models.PositiveSmallIntegerField(
        choices=Agent.Level.choices, default=Agent.Level.SENIOR
    )
    message = models.CharField(
        max_length=200, help_text="Shown to an agent whose level is too low."
    )
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pattern}) ≥ {self.get_minimum_level_display()}"

    def clean(self) -> None:
        import re

        from django.core.exceptions import ValidationError

        if re.search(r"\)[*+?{]", self.pattern):
            raise ValidationError({"pattern": "no quantified groups such as (…)*"})
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValidationError({"pattern": f"not a valid regular expression: {exc}"}) from exc
