"""A page or API call that meets an outage of Redis (the bus) or PostgreSQL answers 503 with
what is unavailable and a Retry-After, not a 500 with a traceback (issue 21 finding 6): the
request did not happen, the client may try it again. WebSocket commands have their own
error reply (`agents.consumers`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from redis import RedisError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def outage_of(exc: BaseException) -> str | None:
    """What is unavailable when `exc` is an outage (not a bug): None otherwise."""
    if isinstance(exc, RedisError):
        return "the command bus (Redis)"
    if isinstance(exc, OperationalError | InterfaceError):  # not IntegrityError, DataError …
        return "the database"
    return None


class OutageMiddleware:
    """503 + Retry-After for a view that raised because Redis or PostgreSQL is down."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        what = outage_of(exc)
        if what is None:
            return None
        log.warning("%s %s: %s is unavailable: %s", request.method, request.path, what, exc)
        response = JsonResponse(
            {"detail": f"{what} is unavailable: try again in a moment"}, status=503
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
