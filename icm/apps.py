"""Django app configuration for icm."""

from django.apps import AppConfig


class IcmConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "icm"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the receivers
