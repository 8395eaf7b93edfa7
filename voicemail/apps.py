"""Django app configuration for voicemail."""

from django.apps import AppConfig


class VoicemailConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "voicemail"
