"""WebSocket routes of the project: which app's consumer serves each socket (project wiring,
as `urls.py` is for HTTP)."""

from django.urls import path

from agents.consumers import AgentDesktopConsumer
from icm.consumers import LiveCallsConsumer
from supervision.consumers import WallboardConsumer
from supervision.listen_consumer import ListenConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveCallsConsumer.as_asgi()),
    path("ws/agent/", AgentDesktopConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
    path("ws/listen/<str:tap>/", ListenConsumer.as_asgi()),
]
