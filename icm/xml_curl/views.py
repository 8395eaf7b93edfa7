"""The mod_xml_curl HTTP endpoint: address ACL, basic auth, then one call to the service."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import access, service

logger = logging.getLogger(__name__)

XML_CONTENT_TYPE = "text/xml; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


def _refuse(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type=TEXT_CONTENT_TYPE)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="ipbx xml_curl", charset="UTF-8"'
    return response


def _fields(request: HttpRequest) -> dict[str, str]:
    try:
        if request.content_type == "multipart/form-data":
            return request.POST.dict()
        return service.parse_form(request.body)
    except (MultiPartParserError, RequestDataTooBig) as exc:
        raise service.MalformedRequest(f"unreadable request body: {exc}") from exc


@csrf_exempt
@require_POST
def xml_curl(request: HttpRequest) -> HttpResponse:
    """Serve FreeSWITCH's directory and dialplan fetches as freeswitch/xml documents."""
    remote = request.META.get("REMOTE_ADDR", "")
    if not access.address_allowed(remote):
        logger.warning("xml_curl: refused client %s (not in XML_CURL_ALLOWED_ADDRESSES)", remote)
        return _refuse(403, "address not allowed")
    if not access.credentials_valid(request.headers.get("Authorization")):
        logger.warning("xml_curl: refused client %s (bad or missing credentials)", remote)
        return _refuse(401, "authentication required")
    try:
        fields = _fields(request)
        body = service.respond(fields)
    except service.MalformedRequest as exc:
        logger.warning("xml_curl: bad request from %s: %s", remote, exc)
        return _refuse(400, f"bad request: {exc}")
    return HttpResponse(body, content_type=XML_CONTENT_TYPE)
