"""URL map of the web process."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("icm.urls")),
    path("", include("ivr.urls")),
    path("", include("agents.urls")),
    path("", include("supervision.urls")),
]
