"""Outbound campaigns (issue 9: INT-3, BIZ-5, BIZ-6, ST-2): a campaign dials its contacts
through a queue's agents (preview, progressive, predictive) or alone (agentless: a message
or an IVR flow); the do-not-call list; every attempt logged. A contact is dialed by one
worker at a time (its lease), and each attempt has an idempotency key, so a worker that
dies neither loses nor repeats one."""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

NUMBER_PATTERN = r"^\+?[0-9]{3,20}\Z"  # `\Z`: `$` accepts a trailing newline
NUMBER = RegexValidator(NUMBER_PATTERN, "Digits with an optional leading +, 3 to 20 of them.")


def default_retry_delays() -> dict[str, int | None]:
    return {
        "busy": 300,
        "no_answer": 1800,
        "failed": 600,
        "machine": 3600,
        "abandoned": 600,
        "invalid": None,
        "skipped": 600,
        "unknown": None,  # placed by an icm that died, outcome lost: may have rung (issue 21)
    }


def default_windows() -> list[dict[str, object]]:
    return [
        {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "20:00"},
        {"days": [5], "start": "10:00", "end": "16:00"},
    ]


class Campaign(models.Model):
    class Mode(models.TextChoices):
        PREVIEW = "preview", "Preview (the agent sees the contact, then dials)"
        PROGRESSIVE = "progressive", "Progressive (one call per free agent)"
        PREDICTIVE = "predictive", "Predictive (dials ahead of free agents)"
        AGENTLESS = "agentless", "Agentless (a message or an IVR flow)"

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"
        FINISHED = "finished", "Finished"

    class AmdMethod(models.TextChoices):
        AUTO = "auto", "Automatic (mod_amd when the switch has it, else mod_avmd)"
        MOD_AMD = "mod_amd", "mod_amd (third-party: a verdict on the greeting)"
        MOD_AVMD = "mod_avmd", "mod_avmd (FreeSWITCH's own: the voicemail beep)"

    class MachineAction(models.TextChoices):
        HANG_UP = "hangup", "Hang up"
        MESSAGE = "message", "Leave the message"

    name = models.SlugField(max_length=64, unique=True)
    display_name = models.CharField(max_length=100)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PROGRESSIVE)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    switch = models.ForeignKey(
        "icm.Switch",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="Empty: the first switch.",
    )
    queue = models.ForeignKey(
        "icm.Queue",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        help_text="Its agents take the calls (not for agentless).",
    )
    gateway = models.CharField(max_length=64, help_text="The trunk the calls go out on.")
    caller_id_number = models.CharField(max_length=21, blank=True, validators=[NUMBER])
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="For contacts without their own time zone."
    )
    windows = models.JSONField(
        default=default_windows,
        blank=True,
        help_text='Local calling windows: [{"days": [0..6], "start": '
        '"09:00", "end": "20:00"}, …] (0 = Monday).',
    )
    max_attempts = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    retry_delays = models.JSONField(
        default=default_retry_delays,
        blank=True,
        help_text="Seconds before a retry per result; null: never.",
    )
    abandon_cap_pct = models.FloatField(
        default=3.0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    max_ratio = models.FloatField(default=3.0, validators=[MinValueValidator(1)])
    calls_per_second = models.FloatField(default=5.0, validators=[MinValueValidator(0.01)])
    max_concurrent = models.PositiveIntegerField(default=30)
    ring_seconds = models.PositiveIntegerField(default=25)
    preview_seconds = models.PositiveIntegerField(
        default=0,
        help_text="Preview: the agent's phone is dialed by itself after this many seconds "
        "(0: only when the agent presses Call).",
    )
    amd = models.BooleanField("answering-machine detection", default=False)
    amd_method = models.CharField(
        "detection method",
        max_length=8,
        choices=AmdMethod.choices,
        default=AmdMethod.AUTO,
        help_text="Which module of the switch detects machines; starting is refused when "
        "the switch does not have it.",
    )
    amd_window = models.PositiveSmallIntegerField(
        "beep window (s)",
        default=8,
        validators=[MinValueValidator(2), MaxValueValidator(30)],
        help_text="mod_avmd: seconds to wait for a voicemail beep; a person waits them out "
        "before reaching an agent.",
    )
    machine_action = models.CharField(
        max_length=8, choices=MachineAction.choices, default=MachineAction.HANG_UP
    )
    message = models.CharField(
        max_length=255,
        blank=True,
        help_text="Played to machines (leave a message), to answered "
        "calls no agent could take, and in agentless mode.",
    )
    flow = models.ForeignKey(
        "ivr.Flow",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Agentless: the IVR flow to run.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the platform paused it (empty: a person did)."
    )
    created_from = models.CharField(
        max_length=200, blank=True, help_text="The report a follow-up campaign came from."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mode}, {self.state})"


class Contact(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "To dial"
        DIALING = "dialing", "Being dialed"
        DONE = "done", "Done"
        EXHAUSTED = "exhausted", "Attempts used up"
        DNC = "dnc", "Do not call"
        CANCELLED = "cancelled", "Cancelled"
        REFUSED = "refused", "Refused by the dialling rules"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contacts")
    number = models.CharField(max_length=21, validators=[NUMBER])
    name = models.CharField(max_length=128, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="Shown to the agent.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=16, blank=True)
    callback_agent = models.CharField(
        max_length=32, blank=True, help_text="A call-back booked by this agent rings it first."
    )
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    source_line = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="contact_once_per_campaign")
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "next_attempt_at"], name="contact_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.campaign_id}, {self.status})"


class DoNotCall(models.Model):
    number = models.CharField(max_length=21, unique=True, validators=[NUMBER])
    reason = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        verbose_name = "do-not-call number"

    def __str__(self) -> str:
        return self.number


class Attempt(models.Model):
    """One dial of one contact (INT-3, ST-2); `key` is its idempotency key."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="attempts")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.CharField(max_length=21)
    attempt = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=64, unique=True)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=16, blank=True)
    hangup_cause = models.CharField(max_length=64, blank=True)
    ring_seconds = models.FloatField(null=True, blank=True)
    talk_seconds = models.FloatField(null=True, blank=True)
    agent = models.CharField(max_length=32, blank=True)
    disposition = models.CharField(max_length=64, blank=True)
    call_uuid = models.CharField(max_length=64, blank=True)
    gateway = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=64, blank=True)
    answers = models.JSONField(default=dict, blank=True, help_text="An agentless flow's answers.")
    callback_at = models.DateTimeField(
        null=True, blank=True, help_text="The agent's \"call back at …\": the next attempt's time."
    )
    callback_agent = models.CharField(
        max_length=32, blank=True, help_text="Who the call-back rings first (empty: the queue)."
    )

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "attempt"], name="attempt_once_per_number")
        ]
        indexes = [models.Index(fields=["campaign", "requested_at"], name="attempt_campaign_idx")]

    def __str__(self) -> str:
        return f"{self.number} #{self.attempt}: {self.result or 'in progress'}"


# --- the company's dialling rules for calls the platform places (issue 18 item 4) ----------


def _default_blocked() -> str:
    from outbound.domain.dialling_rules import DEFAULT_BLOCKED

    return "\n".join(DEFAULT_BLOCKED)


class DiallingRuleSet(models.Model):
    """The one rule set (pk 1) every number the platform dials by itself must pass: call-backs
    a caller or a business system booked, campaign contacts, IVR transfers to outside
    numbers (outbound.domain.dialling_rules says how entries match)."""

    allow_international = models.BooleanField(
        default=False, help_text="Off: international numbers only to the countries below."
    )
    allowed_countries = models.CharField(
        max_length=200,
        blank=True,
        help_text="Country codes allowed although international calls are off, e.g. 44 33.",
    )
    home_country_codes = models.CharField(
        max_length=50,
        blank=True,
        help_text="Your own country code(s): +<code>… is then a domestic number, e.g. 1.",
    )
    international_prefixes = models.CharField(
        max_length=50,
        default="00",
        help_text="How an international number is dialled besides +, e.g. 00 or 011.",
    )
    blocked_prefixes = models.TextField(
        default=_default_blocked,
        blank=True,
        help_text="One per line: +<digits> for numbers written internationally, <digits> "
        "for numbers written nationally. Premium-rate and satellite ranges by default.",
    )
    allowed_prefixes = models.TextField(
        blank=True,
        help_text="One per line, same spelling; when not empty, only these ranges may be dialled.",
    )
    min_digits = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    max_digits = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "dialling rules for system calls"
        verbose_name_plural = "dialling rules for system calls"

    def __str__(self) -> str:
        return "Dialling rules for system calls"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1  # one rule set for the company
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from outbound.dialling import rules_of

        try:
            rules_of(self)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
