"""Recording's part of CallCenterDB (REC-1…REC-12, SV-5): the policies that say which calls
are recorded and how, supervisors' orders to record an agent, and the catalogue of
recordings with every listen and download logged."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models


class RecordingPolicy(models.Model):
    """Which calls are recorded (REC-1, REC-5, REC-9); see icm.domain.recording_policy."""

    class Mode(models.TextChoices):
        ALL = "all", "All calls"
        AGENTS = "agents", "Chosen agents"
        QUEUES = "queues", "Chosen queues"
        ON_DEMAND = "on_demand", "On demand only"

    class Format(models.TextChoices):
        PCM = "pcm", "WAV linear PCM 16-bit"
        ALAW = "alaw", "WAV A-law"
        ULAW = "ulaw", "WAV µ-law"
        IMA_ADPCM = "ima_adpcm", "WAV IMA ADPCM (4:1)"

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.ALL)
    agents = models.ManyToManyField("agents.Agent", blank=True, related_name="+")
    queues = models.ManyToManyField("icm.Queue", blank=True, related_name="+")
    only_numbers = models.TextField(
        blank=True,
        help_text="Record only calls from or to these numbers (one per line; "
        "a trailing * is a prefix). Empty: every number.",
    )
    never_numbers = models.TextField(
        blank=True, help_text="Never record calls from or to these numbers (one per line)."
    )
    window1_start = models.TimeField(null=True, blank=True)
    window1_end = models.TimeField(null=True, blank=True)
    window2_start = models.TimeField(null=True, blank=True)
    window2_end = models.TimeField(null=True, blank=True)
    window3_start = models.TimeField(null=True, blank=True)
    window3_end = models.TimeField(null=True, blank=True)
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.PCM)
    stereo = models.BooleanField(
        default=True, help_text="Customer and agent on separate channels (else mixed, mono)."
    )
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(36500)],
        help_text="Delete recordings after this many days (legal hold keeps them). Empty: keep.",
    )

    class Meta:
        ordering = ["priority", "name"]
        verbose_name_plural = "recording policies"

    def __str__(self) -> str:
        return self.name

    def windows(self) -> list[tuple[object, object]]:
        pairs = [
            (self.window1_start, self.window1_end),
            (self.window2_start, self.window2_end),
            (self.window3_start, self.window3_end),
        ]
        return [(a, b) for a, b in pairs if a is not None and b is not None]

    def clean(self) -> None:
        pairs = [
            (self.window1_start, self.window1_end),
            (self.window2_start, self.window2_end),
            (self.window3_start, self.window3_end),
        ]
        for n, (start, end) in enumerate(pairs, 1):
            if (start is None) != (end is None):
                raise ValidationError(f"time window {n}: give both its start and its end")
            if start is not None and start == end:
                raise ValidationError(f"time window {n} is empty")


class RecordOrder(models.Model):
    """A supervisor's order (SV-5): record this agent's calls now, for N minutes, from a
    scheduled time, or until cancelled."""

    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until cancelled.")
    format = models.CharField(
        max_length=16, choices=RecordingPolicy.Format.choices, default=RecordingPolicy.Format.PCM
    )
    stereo = models.BooleanField(default=True)
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"record {self.agent_id} from {self.starts_at:%Y-%m-%d %H:%M}"


class Recording(models.Model):
    """One recording file of one call leg, catalogued (REC-4, REC-6)."""

    class Status(models.TextChoices):
        RECORDING = "recording", "Recording"
        PROCESSING = "processing", "Processing"  # written; being measured / converted
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        DELETED = "deleted", "Deleted (retention)"

    switch = models.CharField(max_length=64)
    call_uuid = models.CharField(max_length=64, db_index=True)
    leg_uuid = models.CharField(max_length=64)
    call = models.ForeignKey(
        "icm.Call", on_delete=models.SET_NULL, null=True, blank=True, related_name="recordings"
    )
    ani = models.CharField(max_length=64, blank=True, db_index=True)
    dnis = models.CharField(max_length=64, blank=True, db_index=True)
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="recordings"
    )
    queue = models.ForeignKey(
        "icm.Queue", on_delete=models.SET_NULL, null=True, blank=True, related_name="recordings"
    )
    customer = models.ForeignKey(
        "icm.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="recordings"
    )
    policy = models.CharField(max_length=120, blank=True, help_text="what decided it")
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.FloatField(default=0.0)
    duration_seconds = models.FloatField(null=True, blank=True)  # measured from the file
    format = models.CharField(
        max_length=16, choices=RecordingPolicy.Format.choices, default=RecordingPolicy.Format.PCM
    )
    channels = models.PositiveSmallIntegerField(default=2)
    sample_rate = models.PositiveIntegerField(default=8000)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=500, help_text="where the switch wrote it")
    file = models.CharField(max_length=500, blank=True, help_text="the catalogued file")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECORDING)
    error = models.CharField(max_length=300, blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    legal_hold = models.BooleanField(default=False)
    qa_score = models.FloatField(null=True, blank=True, help_text="the latest evaluation's")
    trimmed_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="trims",
        help_text="the original, kept",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        permissions = [("download_recording", "Can download recording files")]
        constraints = [
            models.UniqueConstraint(fields=["switch", "path"], name="recording_unique_path")
        ]
        indexes = [models.Index(fields=["agent", "started_at"], name="recording_agent_at_idx")]

    def __str__(self) -> str:
        return f"{self.ani} → {self.dnis} {self.started_at:%Y-%m-%d %H:%M} ({self.call_uuid})"


class LiveRecording(models.Model):
    """A recording the switch is writing, persisted when icm starts it: an icm restart (or a
    RECORD_STOP it never saw) cannot lose it. Catalogued as a Recording when the switch stops
    it (icm.daemon.recording.store) or, when its leg ended unseen, by recording.unfinished."""

    switch = models.CharField(max_length=64)
    path = models.CharField(max_length=500)
    call_uuid = models.CharField(max_length=64)
    leg_uuid = models.CharField(max_length=64, db_index=True)
    agent = models.CharField(max_length=64, blank=True, help_text="the agent's login id")
    queue = models.CharField(max_length=64, blank=True)
    customer = models.CharField(max_length=64, blank=True, help_text="the customer's account")
    ani = models.CharField(max_length=64, blank=True)
    dnis = models.CharField(max_length=64, blank=True)
    policy = models.CharField(max_length=120, blank=True)
    format = models.CharField(
        max_length=16, choices=RecordingPolicy.Format.choices, default=RecordingPolicy.Format.PCM
    )
    stereo = models.BooleanField(default=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    paused_seconds = models.FloatField(default=0.0)
    paused_at = models.DateTimeField(null=True, blank=True, help_text="paused since")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["switch", "path"], name="live_recording_unique_path")
        ]

    def __str__(self) -> str:
        return f"recording {self.path} of call {self.call_uuid} (since {self.started_at})"


class RecordingAccess(models.Model):
    """Every listen and download of a recording, and every refusal (REC-6 audit)."""

    class Kind(models.TextChoices):
        LISTEN = "listen", "Listened"
        DOWNLOAD = "download", "Downloaded"
        REFUSED = "refused", "Refused"
        EVALUATE = "evaluate", "Scored"
        TRIM = "trim", "Trimmed"
        HOLD = "hold", "Legal hold changed"
        DELETE = "delete", "Deleted"
        BACKUP = "backup", "Backed up"

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    username = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.username} {self.kind} recording {self.recording_id} at {self.at}"


class EvaluationForm(models.Model):
    """A QA evaluation form: weighted questions (REC-12)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EvaluationQuestion(models.Model):
    form = models.ForeignKey(EvaluationForm, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(max_length=300)
    weight = models.PositiveSmallIntegerField(default=1)
    max_points = models.PositiveSmallIntegerField(default=5)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["form", "order", "id"]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        if self.weight == 0 or self.max_points == 0:
            raise ValidationError("weight and maximum points are at least 1")


class Evaluation(models.Model):
    """One scoring of a recording on a form: the points per question and the weighted score."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="evaluations")
    form = models.ForeignKey(EvaluationForm, on_delete=models.PROTECT, related_name="+")
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    answers = models.JSONField(default=dict)
    score = models.FloatField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.form} {self.score} on recording {self.recording_id}"


class BackupCopy(models.Model):
    """A recording's copy in a backup location (REC-10): done only once its checksum matched."""

    class Status(models.TextChoices):
        OK = "ok", "Copied and verified"
        FAILED = "failed", "Failed (retried)"

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="backups")
    location = models.CharField(max_length=200)
    target = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FAILED)
    sha256 = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    next_try = models.DateTimeField(null=True, blank=True)
    copied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recording", "location"], name="backup_once_per_location"
            )
        ]

    def __str__(self) -> str:
        return f"recording {self.recording_id} → {self.location}: {self.status}"

    def target_path(self) -> Path:
        return Path(self.target)
