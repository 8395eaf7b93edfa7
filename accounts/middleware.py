"""Turns a sign-in refused by the brute-force limiter into 429 Too Many Requests with the reason.

The sign-in forms (Django's and the admin's) and DRF's Basic authentication only know "wrong
password"; the backend notes the lock-out on the request, and this middleware answers it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from accounts import throttle


def lockout_response(request: HttpRequest, lockout: throttle.Lockout) -> HttpResponse:
    """429 with the reason: JSON for the API, a page for a browser."""
    wants_json = request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")
    if wants_json:
        response: HttpResponse = JsonResponse({"detail": lockout.message}, status=429)
    else:
        page = render_to_string("accounts/locked.html", {"message": lockout.message}, request)
        response = HttpResponse(page, status=429)
    response["Retry-After"] = str(lockout.retry_after)
    return response


class SignInLockoutMiddleware:
    """Answer 429 when the limiter refused a credential check during this request."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        return self._answer(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return self._answer(request, await self.get_response(request))

    @staticmethod
    def _answer(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        lockout = throttle.lockout_of(request)
        return response if lockout is None else lockout_response(request, lockout)
