"""The Celery application (StatServer aggregation, dialing campaigns, retention)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")

app = Celery("ipbx")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
