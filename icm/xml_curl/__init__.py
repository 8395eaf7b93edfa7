"""mod_xml_curl endpoint: FreeSWITCH fetches its directory and dialplan from CallCenterDB."""
