"""HTTP routes of the agent desktop."""

from django.urls import path

from . import callback_views, colleague_views, transfer_views, views

urlpatterns = [
    path("agent/", views.desktop_page, name="agent-desktop"),
    path("agent/sign-in/", views.sign_in, name="agent-sign-in"),
    path("agent/sign-out/", views.sign_out, name="agent-sign-out"),
    path("api/agent/desktop/", views.desktop_snapshot, name="api-agent-desktop"),
    path("api/agents/<str:login_id>/dial/", views.dial, name="api-agent-dial"),
    path(
        "api/agents/<str:login_id>/transfer/",
        transfer_views.transfer,
        name="api-agent-transfer",
    ),
    path(
        "api/agents/<str:login_id>/callbacks/",
        callback_views.agent_callbacks,
        name="api-agent-callbacks",
    ),
    path(
        "api/agents/<str:login_id>/call-agent/",
        colleague_views.call_agent,
        name="api-agent-call-agent",
    ),
    path(
        "api/agents/<str:login_id>/monitor/",
        colleague_views.monitor_colleague,
        name="api-agent-monitor-colleague",
    ),
    path(
        "api/agents/<str:login_id>/address-book/",
        colleague_views.agent_address_book,
        name="api-agent-address-book",
    ),
    path("api/callbacks/<int:callback_id>/", callback_views.callback_detail, name="api-callback"),
]
