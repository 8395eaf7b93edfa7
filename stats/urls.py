"""URLs of stats."""

from django.urls import path

from stats import report_views, views

urlpatterns = [
    path("api/stats/staffing/", views.staffing_api, name="api-stats-staffing"),
    path("stats/staffing/", views.staffing_page, name="stats-staffing"),
    path("stats/reports/<str:name>/", report_views.report_page, name="stats-report"),
    path("api/stats/reports/<str:name>/", report_views.report_api, name="api-stats-report"),
]
