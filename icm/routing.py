"""WebSocket routes of icm."""

from django.urls import path

from agents.consumers import AgentDesktopConsumer
from supervision.consumers import WallboardConsumer
from supervision.listen_consumer import ListenConsumer

from .consumers import LiveCallsConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveCallsConsumer.as_asgi()),
    path("ws/agent/", AgentDesktopConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
    path("ws/listen/<str:tap>/", ListenConsumer.as_asgi()),
]
