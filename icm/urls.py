"""HTTP routes of icm: live calls page and API, mod_xml_curl endpoint."""

from django.urls import path

urlpatterns: list = []
