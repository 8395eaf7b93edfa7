"""Shared pieces of the REST API's OpenAPI description (drf-spectacular, issue 18 item 12):
the error bodies every endpoint answers with and helpers that name an operation's error
statuses and query parameters. Each app describes its own bodies next to its views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

# A JSON object whose keys the description does not fix (icm's replies, report tables …).
OBJECT = OpenApiTypes.OBJECT


class DetailSerializer(serializers.Serializer):
    """What every refusal says: one sentence for a person."""

    detail = serializers.CharField()


_ERRORS = {
    400: OpenApiResponse(
        OBJECT,
        description="Malformed request: field errors ({field: [message, …]}) or {detail}.",
    ),
    403: OpenApiResponse(DetailSerializer, description="Not signed in, or not allowed."),
    404: OpenApiResponse(DetailSerializer, description="No such object (in your scope)."),
    409: OpenApiResponse(DetailSerializer, description="Refused in the object's present state."),
    503: OpenApiResponse(DetailSerializer, description="icm (the switch control) is unreachable."),
    504: OpenApiResponse(
        DetailSerializer,
        description="icm took the command but did not answer: it may have run. Retry only "
        "with the same Idempotency-Key.",
    ),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation; 403 always (authentication)."""
    return {code: _ERRORS[code] for code in sorted({403, *codes})}


def query(name: str, description: str, kind: Any = str, **extra: Any) -> OpenApiParameter:
    """An optional query-string parameter."""
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description, **extra)


def since_until(what: str = "time") -> list[OpenApiParameter]:
    """The ?since=&until= pair of a time range (ISO 8601)."""
    return [
        query("since", f"From this {what} (ISO 8601)"),
        query("until", f"Until this {what} (ISO 8601)"),
    ]
