"""URLs of voicemail."""

from django.urls import path

from voicemail import views

urlpatterns = [
    path("voicemail/", views.mailbox_page, name="voicemail"),
    path("voicemail/messages/<int:message_id>/audio", views.audio, name="voicemail-audio"),
    path("api/voicemail/mailboxes/", views.mailboxes_api, name="api-voicemail-mailboxes"),
    path("api/voicemail/messages/", views.messages_api, name="api-voicemail-messages"),
    path(
        "api/voicemail/messages/<int:message_id>/heard/",
        views.heard_api,
        name="api-voicemail-heard",
    ),
    path(
        "api/voicemail/messages/<int:message_id>/delete/",
        views.delete_api,
        name="api-voicemail-delete",
    ),
    path(
        "api/voicemail/messages/<int:message_id>/forward/",
        views.forward_api,
        name="api-voicemail-forward",
    ),
]
