"""Django app configuration for agents."""

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "agents"

    def ready(self) -> None:
        from . import desktop_sessions  # noqa: F401 - connects the receivers (issue 18)
