"""WebSocket routes of icm."""

from django.urls import path

from .consumers import LiveCallsConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveCallsConsumer.as_asgi()),
]
