"""IPBX Django project: settings, ASGI entry point, URL map, Celery app."""

from .celery import app as celery_app

__all__ = ["celery_app"]
