"""WebSocket routes of icm."""

websocket_urlpatterns: list = []
