"""Agents, skills with levels, work groups, and the append-only agent state log (ICM-6)."""

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
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
    # the queues its team leaders supervise (their wallboard, their controls)
    queues = models.ManyToManyField("icm.Queue", blank=True, related_name="work_groups")

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
    login_id = models.CharField(
        "agent ID",
        max_length=32,
        unique=True,
        # it names the agent on the bus and in switch variables (ipbx_agent): plain characters
        validators=[
            RegexValidator(
                r"\A[A-Za-z0-9_.-]{1,32}\Z", "letters, digits, '.', '_' or '-' (at most 32)"
            )
        ],
    )
    name = models.CharField(max_length=100)
    phone_bar_password = models.CharField(max_length=128, help_text="Stored hashed.")
    extension = models.ForeignKey(
        "icm.Extension", on_delete=models.SET_NULL, null=True, blank=True, related_name="agents"
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.AGENT)
    work_groups = models.ManyToManyField(WorkGroup, blank=True, related_name="agents")
    skills = models.ManyToManyField(Skill, through="AgentSkill", blank=True)
    active = models.BooleanField(default=True)
    may_monitor_colleagues = models.BooleanField(
        "may listen to / barge into colleagues' calls",
        default=False,
        help_text="AG-19: from the desktop, on the calls of agents of its own work groups.",
    )

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
    # what moved the agent: answer, no_answer, busy, reject, hang-up, consult, call-back …
    trigger = models.CharField(max_length=32, blank=True)
    call_uuid = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            # icm's outbox writes a batch again after a lost commit reply or a crash between
            # the commit and its spill's cut: the same transition is then skipped (issue 21)
            models.UniqueConstraint(
                fields=["agent", "at", "from_state", "to_state"], name="agent_state_change_once"
            )
        ]

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


# what a call-back may dial; `\Z` (Python and PostgreSQL): `$` accepts a trailing newline
CALLBACK_NUMBER_PATTERN = r"^\+?[0-9]{2,20}\Z"


class ScheduledCallback(models.Model):
    """A call-back booked for a time (AG-17): then icm rings the agent (or the queue) and then
    the customer. Dispatched by Celery (`agents.callbacks`); the lease fields let any number of
    workers run at once without sending one row twice."""

    class Source(models.TextChoices):
        AGENT = "agent", "Agent"
        IVR = "ivr", "IVR"
        API = "api", "Business system"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RINGING = "ringing", "Ringing"  # icm took it: the agent's phone or the queue rings
        DONE = "done", "Done"  # the customer answered
        FAILED = "failed", "Failed"  # never reached the customer (no agent, rules, time)
        UNREACHABLE = "unreachable", "Unreachable"  # every attempt of its rule unanswered
        CANCELLED = "cancelled", "Cancelled"

    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="callbacks"
    )
    queue = models.ForeignKey(
        "icm.Queue", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    number = models.CharField(
        max_length=21,
        validators=[
            RegexValidator(
                CALLBACK_NUMBER_PATTERN, "Digits with an optional leading +, 2 to 20 of them."
            )
        ],
    )
    customer = models.ForeignKey(
        "icm.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField()
    note = models.TextField(blank=True, max_length=1000)
    booked_by = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="booked_callbacks"
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.AGENT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # times icm answered (took it or refused it); an unreachable icm does not count
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(help_text="The due time, then the time of the retry.")
    last_error = models.CharField(max_length=300, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatched_to = models.CharField(max_length=8, blank=True, help_text="agent or queue")
    contact = models.CharField(max_length=64, blank=True, help_text="icm's contact ID.")
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="callback_pending_due_idx",
            ),
            models.Index(fields=["agent", "status", "due_at"], name="callback_agent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(agent__isnull=False) | models.Q(queue__isnull=False),
                name="callback_agent_or_queue",
            ),
            models.CheckConstraint(
                condition=models.Q(number__regex=CALLBACK_NUMBER_PATTERN),
                name="callback_number_digits",
            ),
        ]

    def __str__(self) -> str:
        target = self.agent.login_id if self.agent_id else self.queue.name
        return f"call-back {self.pk} to {self.number} by {target} at {self.due_at} ({self.status})"


class CallbackRetryRule(models.Model):
    """How often a queue's call-backs are tried when the customer does not answer (issue 20
    item 3): at most `max_attempts` dials of the customer, `spacing_minutes` apart, each
    ringing `ring_seconds`. Call-backs of a queue without a rule (or of no queue) follow
    settings.IPBX_CALLBACK_RETRY (agents.callback_retry)."""

    queue = models.OneToOneField(
        "icm.Queue", on_delete=models.CASCADE, related_name="callback_retry_rule"
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    spacing_minutes = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="Minutes between an unanswered attempt and the next.",
    )
    ring_seconds = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
        help_text="How long the customer's phone rings on each attempt.",
    )

    class Meta:
        ordering = ["queue__name"]

    def __str__(self) -> str:
        return f"{self.queue}: {self.max_attempts} attempts, {self.spacing_minutes} min apart"


class CallbackAttempt(models.Model):
    """One dial of a call-back's customer: when, and what came of it. Numbered per
    call-back; the unique number is what keeps one attempt from being dialled twice."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "Answered"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"

    callback = models.ForeignKey(
        ScheduledCallback, on_delete=models.CASCADE, related_name="dial_attempts"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    leg = models.CharField(max_length=64, blank=True, help_text="The customer's leg.")

    class Meta:
        ordering = ["callback_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["callback", "number"], name="callback_attempt_once")
        ]

    def __str__(self) -> str:
        return f"call-back {self.callback_id} attempt {self.number}: {self.outcome or 'dialling'}"


class AgentSessionState(models.Model):
    """A signed-in agent's live state as icm last saved it, so a restarted icm takes its
    agents back (ICM-3): state, reason, prior state, the call it is on and its leg."""

    agent = models.OneToOneField(Agent, on_delete=models.CASCADE, related_name="session_state")
    switch = models.ForeignKey("icm.Switch", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=32)
    since = models.FloatField()
    reason = models.CharField(max_length=64, blank=True)
    prior_state = models.CharField(max_length=32, blank=True)
    prior_reason = models.CharField(max_length=64, blank=True)
    contact_id = models.CharField(max_length=64, blank=True)
    queue = models.CharField(max_length=64, blank=True)
    call_kind = models.CharField(max_length=16, blank=True)
    logged_in_at = models.FloatField(default=0)
    leg = models.CharField(max_length=64, blank=True)
    wrap_due = models.FloatField(default=0)
    saved_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.state}"


class AddressBookEntry(models.Model):
    """A shared entry of the agents' address book (AG-23), kept by an administrator: a
    number everybody calls (a department, a partner, the QA desk)."""

    name = models.CharField(max_length=100)
    number = models.CharField(
        max_length=32,
        validators=[RegexValidator(r"\A\+?[0-9]{2,20}\Z", "2 to 20 digits, optional leading +")],
    )
    note = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "address book entries"

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"
