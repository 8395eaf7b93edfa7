"""URLs of outbound."""

from django.urls import path

from outbound import views

urlpatterns = [
    path("campaigns/", views.campaigns_page, name="campaigns"),
    path("campaigns/<slug:name>/", views.campaign_page, name="campaign"),
    path("campaigns/<slug:name>/attempts.csv", views.attempts_csv, name="campaign-attempts"),
    path("api/campaigns/", views.campaigns_api, name="api-campaigns"),
    path("api/campaigns/follow-up/", views.followup_api, name="api-campaign-followup"),
    path("api/campaigns/<slug:name>/", views.campaign_api, name="api-campaign"),
    path(
        "api/campaigns/<slug:name>/contacts/", views.upload_contacts, name="api-campaign-contacts"
    ),
    path(
        "api/campaigns/<slug:name>/<str:action>/", views.campaign_action, name="api-campaign-action"
    ),
]
