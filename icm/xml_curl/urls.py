"""Routes of the mod_xml_curl endpoint (mounted at /freeswitch/)."""

from django.urls import path

from . import views

app_name = "xml_curl"

urlpatterns = [
    path("xml_curl/", views.xml_curl, name="fetch"),
]
