"""IVR flows (ICM-4): a Flow and its numbered versions; one version is published at a time."""

from django.conf import settings
from django.db import models


class Flow(models.Model):
    """A named IVR flow; calls run its published version."""

    name = models.SlugField(max_length=64, unique=True)
    description = models.CharField(max_length=200, blank=True)
    published_version = models.ForeignKey(
        "FlowVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FlowVersion(models.Model):
    """A graph of flow nodes, immutable once published (JSON; format comes with the IVR issue)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="flow_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.flow.name} v{self.number} ({self.status})"


class DataConnector(models.Model):
    """A data-access component a flow's lookup node calls by name (IVR-3, the old DA/HsAA).

    `config` by kind — sql: `{"database": "default" | "<ENV VAR holding a libpq URL>",
    "query": "SELECT … WHERE number = %(account)s"}`; http: `{"method": "GET", "url":
    "https://…/{account}", "headers": {"Authorization": "Bearer {secret:NAME}"}, "fields":
    {"balance": "$.balance"}}` (secrets come from IVR_SECRET_<NAME> in the environment, never
    from the database); python: `{"entry_point": "<name in IVR_PYTHON_CONNECTORS>"}`.
    """

    class Kind(models.TextChoices):
        SQL = "sql", "SQL query (read-only)"
        HTTP = "http", "HTTP JSON API"
        PYTHON = "python", "Python entry point"

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    config = models.JSONField(default=dict)
    timeout_seconds = models.FloatField(default=3.0)
    failure_threshold = models.PositiveSmallIntegerField(
        default=5, help_text="Failures in a row that open the circuit (calls fail fast)."
    )
    reset_seconds = models.PositiveIntegerField(
        default=30, help_text="How long an open circuit waits before trying again."
    )
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from ivr.connectors.registry import ConnectorConfigError, check_config

        try:
            check_config(self.kind, self.config or {}, self.timeout_seconds)
        except ConnectorConfigError as exc:
            raise ValidationError({"config": str(exc)}) from exc


class Prompt(models.Model):
    """An uploaded voice prompt (IVR-1): flows play it as `prompt:<name>`; `transcript` is
    what it says (shown by the text front-end and the editor)."""

    name = models.SlugField(max_length=64, unique=True)
    language = models.CharField(max_length=8, blank=True, help_text="Empty: any language.")
    transcript = models.CharField(max_length=500, blank=True)
    file_name = models.CharField(max_length=100, editable=False)
    duration_seconds = models.FloatField(editable=False)
    sample_rate = models.PositiveIntegerField(editable=False)
    uploaded_at = models.DateTimeField(auto_now=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
