"""Devices (ICM-1): sites, FreeSWITCH nodes, SIP trunks and SIP extensions."""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

# `\Z`, not `$`: `$` also matches before a trailing newline (issue 18)
digits_validator = RegexValidator(r"^[0-9*#+]+\Z", "Only digits, *, # and + are allowed.")


class Site(models.Model):
    """One location of the virtual call center (ARC-1); owns a SIP domain."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    sip_domain = models.CharField(
        max_length=255, help_text="SIP domain of this site's directory (FreeSWITCH's domain name)."
    )
    timezone = models.CharField(max_length=64, default="UTC")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Switch(models.Model):
    """A FreeSWITCH node and the address of its event socket."""

    class Status(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        CONNECTED = "connected", "Connected"
        DISCONNECTED = "disconnected", "Disconnected"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="switches")
    name = models.SlugField(max_length=64, unique=True, help_text="Key of every live record.")
    esl_host = models.CharField("ESL host", max_length=255, default="127.0.0.1")
    esl_port = models.PositiveIntegerField(
        "ESL port", default=8021, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    esl_password = models.CharField("ESL password", max_length=128, blank=True)
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNKNOWN)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    core_uuid = models.CharField(max_length=64, blank=True, help_text="FreeSWITCH Core-UUID.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "switches"

    def __str__(self) -> str:
        return self.name


class Gateway(models.Model):
    """A SIP trunk (sofia gateway) on one switch."""

    switch = models.ForeignKey(Switch, on_delete=models.CASCADE, related_name="gateways")
    name = models.SlugField(max_length=64)
    proxy = models.CharField(max_length=255, help_text="host[:port] of the carrier.")
    username = models.CharField(max_length=128, blank=True)
    password = models.CharField(max_length=128, blank=True)
    register = models.BooleanField(default=True)
    caller_id_number = models.CharField(max_length=32, blank=True, validators=[digits_validator])
    max_channels = models.PositiveIntegerField(
        default=30, help_text="Campaign calls up at once on this trunk, all campaigns together."
    )
    calls_per_second = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01)],
        help_text="Campaign calls started per second on this trunk, all campaigns together "
        "(empty: only each campaign's own limit).",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["switch", "name"]
        constraints = [
            models.UniqueConstraint(fields=["switch", "name"], name="gateway_unique_per_switch")
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.switch}"


class Extension(models.Model):
    """A SIP user in a site's directory (an agent phone or any internal endpoint)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="extensions")
    number = models.CharField(max_length=32, validators=[digits_validator])
    password = models.CharField(
        max_length=128, help_text="SIP password (FreeSWITCH needs it, or its a1-hash)."
    )
    display_name = models.CharField(max_length=100, blank=True)
    caller_id_number = models.CharField(max_length=32, blank=True, validators=[digits_validator])
    context = models.CharField(max_length=64, default="default")
    variables = models.JSONField(
        default=dict, blank=True, help_text="Extra directory variables, name → value."
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["site", "number"]
        constraints = [
            models.UniqueConstraint(fields=["site", "number"], name="extension_unique_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.number}@{self.site.code}"


class ExtensionRegistration(models.Model):
    """Whether a SIP user is registered on a switch now (ICM-1), as icm follows it from the
    switch's registration events; written by icm only (one row per switch and user)."""

    switch = models.CharField(max_length=64, help_text="Name of the switch it registers on.")
    user = models.CharField(max_length=64, help_text="The extension number (SIP user).")
    registered = models.BooleanField(default=False)
    why = models.CharField(
        max_length=32, blank=True, help_text="Why not: unregistered, expired or absent."
    )
    contact = models.CharField(max_length=255, blank=True)
    network_ip = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    since = models.DateTimeField(help_text="When it last became registered or not.")

    class Meta:
        ordering = ["switch", "user"]
        constraints = [
            models.UniqueConstraint(fields=["switch", "user"], name="registration_unique")
        ]

    def __str__(self) -> str:
        state = "registered" if self.registered else f"not registered ({self.why or '?'})"
        return f"{self.user}@{self.switch}: {state}"
