"""URLs of recording."""

from django.urls import path

from recording import views

urlpatterns = [
    path("recordings/", views.catalogue_page, name="recordings"),
    path("recordings/<int:recording_id>/audio", views.audio, name="recording-audio"),
    path("recordings/storage/", views.storage_page, name="recordings-storage"),
    path("recordings/qa/", views.qa_page, name="recordings-qa"),
    path("api/recordings/storage/", views.storage_api, name="api-recordings-storage"),
    path("api/recordings/", views.recordings_api, name="api-recordings"),
    path("api/recordings/<int:recording_id>/trim/", views.trim_api, name="api-recording-trim"),
    path("api/recordings/<int:recording_id>/hold/", views.hold_api, name="api-recording-hold"),
    path("api/recordings/qa-report/", views.qa_report_api, name="api-recordings-qa-report"),
    path("api/recordings/<int:recording_id>/", views.recording_api, name="api-recording"),
    path(
        "api/recordings/<int:recording_id>/waveform",
        views.waveform_api,
        name="api-recording-waveform",
    ),
    path(
        "api/recordings/<int:recording_id>/evaluations/",
        views.evaluate_api,
        name="api-recording-evaluate",
    ),
]
