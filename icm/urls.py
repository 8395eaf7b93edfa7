"""HTTP routes of icm: live calls page and API, mod_xml_curl endpoint."""

from django.urls import include, path

urlpatterns: list = [
    path("freeswitch/", include("icm.xml_curl.urls")),
]
