"""URLs of supervision."""

from django.urls import path

from supervision import views

urlpatterns = [
    path(
        "api/supervision/agents/<str:login_id>/<str:action>/",
        views.agent_action,
        name="api-supervision-agent",
    ),  # fmt: skip
    path(
        "api/supervision/queues/<str:queue>/assign/",
        views.assign_call,
        name="api-supervision-assign",
    ),  # fmt: skip
    path("api/supervision/audit/", views.audit_api, name="api-supervision-audit"),
    path("api/supervision/bulletins/", views.bulletin_send, name="api-supervision-bulletins"),
    path(
        "api/supervision/bulletins/<int:bulletin_id>/",
        views.bulletin_receipts,
        name="api-supervision-bulletin",
    ),  # fmt: skip
    path("supervision/audit/", views.audit_page, name="supervision-audit"),
]
