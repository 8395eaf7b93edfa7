"""The phone-bar sign-in (AG-1): agent ID + the agent's short phone-bar password.

The password is short, so every try goes through the shared brute-force limiter (per agent ID
and client address, accounts.throttle), unknown IDs cost the same hash check as known ones,
and it only ever opens an agent's session: a user who is staff, superuser, administrator or
team leader (a group, or leading a work group: supervision.roles) signs in with the account's
own password at /accounts/login/.
"""

from __future__ import annotations

import logging

from django.contrib.auth.hashers import check_password, make_password

from accounts import throttle
from agents.models import Agent
from supervision.roles import is_supervisor

log = logging.getLogger(__name__)
_DUMMY = make_password("not a real phone-bar password")  # unknown IDs cost the same check

WRONG = "Unknown agent ID or wrong password."
ELEVATED = (
    "This account has supervisor or administrator rights: the phone-bar password cannot open "
    "it. Sign in with the account's own password at /accounts/login/, then open the desktop."
)


class PhoneBarRefused(Exception):
    """The sign-in is refused: `status` (403 or 429) and the message for the agent."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def check_phone_bar_sign_in(login_id: str, password: str, address: str) -> Agent:
    """The active agent whose phone-bar password this is, with an active user that carries
    no supervisor or administrator role; else raise PhoneBarRefused."""
    try:
        attempt = throttle.begin_attempt(throttle.PHONE_BAR, login_id, address)
    except throttle.SignInLocked as locked:
        raise PhoneBarRefused(locked.lockout.message, 429) from None
    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("user").first()
    user = agent.user if agent is not None else None
    ok = agent.check_phone_bar_password(password) if agent else check_password(password, _DUMMY)
    if not ok or agent is None or user is None or not user.is_active:
        log.warning("agent %s: desktop sign-in from %s refused", login_id, address)
        raise PhoneBarRefused(WRONG, 403)
    if user.is_staff or user.is_superuser or is_supervisor(user):
        # the password was right, but it must not open these rights: still counted as a failure
        log.warning(
            "agent %s: phone-bar sign-in from %s refused: user %s has supervisor or "
            "administrator rights",
            login_id,
            address,
            user.pk,
        )
        raise PhoneBarRefused(ELEVATED, 403)
    attempt.succeeded()
    return agent
