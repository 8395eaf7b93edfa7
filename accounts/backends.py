"""The authentication backend: Django's model backend behind the brute-force limiter.

Every `authenticate()` of the web process comes here: the sign-in page, the admin's, HTTP
Basic on the API when enabled. A locked-out try raises PermissionDenied (Django then stops
and reports a failed sign-in) and is noted on the request for SignInLockoutMiddleware.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied

from accounts import throttle
from accounts.client import client_address

PATH = "accounts.backends.ThrottledModelBackend"


class ThrottledModelBackend(ModelBackend):
    """ModelBackend whose every password check is counted per account and client address."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            attempt = throttle.begin_attempt(throttle.WEB, str(username), client_address(request))
        except throttle.SignInLocked as locked:
            throttle.note_lockout(request, locked.lockout)
            raise PermissionDenied(locked.lockout.message) from None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            attempt.succeeded()
        return user
