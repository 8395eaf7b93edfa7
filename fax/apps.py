"""Django app configuration for fax."""

from django.apps import AppConfig


class FaxConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "fax"
