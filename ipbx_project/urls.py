"""URL map of the web process."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAdminUser

urlpatterns = [
    path("admin/", admin.site.urls),
    # sign-in for supervisors and administrators (the wallboard, live calls, reports);
    # agents sign in to their desktop with their phone-bar password at /agent/
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("icm.urls")),
    path("", include("ivr.urls")),
    path("", include("agents.urls")),
    path("", include("supervision.urls")),
    path("", include("recording.urls")),
    path("", include("stats.urls")),
    path("", include("outbound.urls")),
    path("", include("voicemail.urls")),
    # the OpenAPI schema (signed-in users) and its browsable docs page (staff only)
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[IsAdminUser]),
        name="api-docs",
    ),
]
