"""Django app configuration for ivr."""

from django.apps import AppConfig


class IvrConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ivr"

    def ready(self) -> None:
        from ivr.checks import register_checks

        register_checks()
