"""Input that PostgreSQL cannot hold is refused where it enters (issue 18 item 12): a NUL
character (U+0000) in a query string, a JSON or form body or HTTP Basic credentials got a
500 (psycopg: "PostgreSQL text fields cannot contain NUL bytes") from any view that looked
the value up. Here it gets 400 with the field named (401 for credentials) before any view or
authentication backend runs. Uploaded files may contain NUL bytes: only their names are
checked."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import authentication, parsers
from rest_framework.exceptions import AuthenticationFailed, ValidationError

log = logging.getLogger(__name__)

NUL = "\x00"
MESSAGE = "Null characters are not allowed."


def nul_fields(data: Any, path: str = "") -> dict[str, list[str]]:
    """Where in parsed JSON / form data a NUL character is, as DRF field errors."""
    found: dict[str, list[str]] = {}
    if isinstance(data, str):
        if NUL in data:
            found[path or "non_field_errors"] = [MESSAGE]
    elif isinstance(data, Mapping):
        for key in data:
            name = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                found[name.replace(NUL, "\\0")] = [MESSAGE]
            for value in _values(data, key):
                found.update(nul_fields(value, name))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            found.update(nul_fields(value, f"{path}[{index}]"))
    return found


def _values(data: Mapping[str, Any], key: str) -> list[Any]:
    # a form's QueryDict keeps every value of a repeated field
    getlist = getattr(data, "getlist", None)
    return getlist(key) if getlist is not None else [data[key]]


def _refuse_nul(data: Any) -> None:
    found = nul_fields(data)
    if found:
        raise ValidationError(found)


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _refuse_nul(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _refuse_nul(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parsed = super().parse(stream, media_type, parser_context)
        _refuse_nul(parsed.data)
        _refuse_nul({name: upload.name or "" for name, upload in parsed.files.items()})
        return parsed


class BasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic, refusing a NUL in the credentials as wrong credentials (401)."""

    def authenticate_credentials(self, userid: str, password: str, request: Any = None) -> Any:
        if NUL in userid or NUL in password:
            raise AuthenticationFailed("Invalid username/password.")
        return super().authenticate_credentials(userid, password, request)


class RefuseNulMiddleware:
    """400 for a request whose path or query string carries a NUL character."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = {"path": [MESSAGE]} if NUL in request.path else {}
        found.update(nul_fields(request.GET))
        if found:
            log.info("refused a request with a NUL character: %s", sorted(found))
            return JsonResponse(found, status=400)
        return self.get_response(request)
