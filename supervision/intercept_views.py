"""The API of standing intercepts (SV-9): order one, list those in force, cancel one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from ipbx_project.api_schema import OBJECT, errors
from supervision.actions import SupervisionRefused, UnknownTarget
from supervision.intercepts import (
    BadIntercept,
    cancel_intercept,
    current_intercepts,
    order_intercept,
)


def _answer(run: Callable[[], dict[str, Any]]) -> Response:
    try:
        return Response(run())
    except SupervisionRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except UnknownTarget as exc:
        return Response({"detail": str(exc)}, status=404)
    except BadIntercept as exc:
        return Response({"detail": str(exc)}, status=400)


@extend_schema(request=OBJECT, responses={200: OBJECT, **errors(400, 404)})
@api_view(["GET", "POST"])
def intercepts_api(request: Request) -> Response:
    """GET: the standing intercepts in force of the user's agents. POST {agent, until (ISO
    with its zone), extension (optional: the user's own phone)}: listen to every call of the
    agent until then."""
    if request.method == "GET":
        return _answer(lambda: {"intercepts": current_intercepts(request.user)})
    body = request.data if isinstance(request.data, dict) else {}
    return _answer(lambda: order_intercept(request.user, body, request.META.get("REMOTE_ADDR")))


@extend_schema(request=None, responses={200: OBJECT, **errors(404)})
@api_view(["POST"])
def intercept_cancel_api(request: Request, ident: int) -> Response:
    """Cancel a standing intercept: no further call is listened to; the listening phone's
    calls now end."""
    return _answer(lambda: cancel_intercept(request.user, ident, request.META.get("REMOTE_ADDR")))
