"""HTTP routes of icm: live calls page and API, mod_xml_curl endpoint."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views
from .api import config
from .api import views as api

router = DefaultRouter()
router.register("skills", config.SkillViewSet)
router.register("not-ready-reasons", config.NotReadyReasonViewSet)
router.register("queues", config.QueueViewSet)
router.register("queue-skills", config.QueueSkillViewSet)
router.register("queue-agents", config.QueueAgentViewSet)
router.register("agent-skills", config.AgentSkillViewSet)
router.register("routing-rules", config.RoutingRuleViewSet)

urlpatterns = [
    path("", views.live_calls, name="home"),
    path("calls/", views.live_calls, name="live-calls"),
    path("api/live/", api.LiveSnapshotView.as_view(), name="api-live"),
    path("api/calls/", api.CallListView.as_view(), name="api-calls"),
    path("api/calls/originate/", api.OriginateView.as_view(), name="api-originate"),
    path("api/calls/<str:call_uuid>/hangup/", api.HangupView.as_view(), name="api-hangup"),
    path("api/agents/<str:login_id>/state/", api.AgentStateView.as_view(), name="api-agent-state"),
    path("api/queues/<str:name>/report/", api.QueueReportView.as_view(), name="api-queue-report"),
    path("api/config/", include(router.urls)),
    path("freeswitch/", include("icm.xml_curl.urls")),
]
