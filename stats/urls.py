"""URLs of stats."""

from django.urls import path

from stats import views

urlpatterns = [
    path("api/stats/staffing/", views.staffing_api, name="api-stats-staffing"),
    path("stats/staffing/", views.staffing_page, name="stats-staffing"),
]
