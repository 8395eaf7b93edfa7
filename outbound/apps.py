"""The outbound app: campaigns, contact lists, the do-not-call list and the attempt log."""

from django.apps import AppConfig


class OutboundConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outbound"
    verbose_name = "Outbound campaigns"
