"""The accounts app: every credential check of the web process goes through its limiter."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in protection"

    def ready(self) -> None:
        from accounts import checks  # noqa: F401 - registers the settings checks
