"""Routes of the mod_xml_curl endpoint."""

urlpatterns: list = []
