"""System checks of the sign-in protection settings (run by `manage.py check`)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def check_sign_in_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """IPBX_TRUSTED_PROXIES must be addresses or networks; the limits must be usable."""
    errors = []
    for entry in getattr(settings, "IPBX_TRUSTED_PROXIES", ()):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"IPBX_TRUSTED_PROXIES: {entry!r} is not an address or network",
                    id="accounts.E001",
                )
            )
    if int(settings.IPBX_SIGN_IN_FAILURES) < 1 or int(settings.IPBX_SIGN_IN_LOCKOUT_SECONDS) < 1:
        errors.append(
            Error(
                "IPBX_SIGN_IN_FAILURES and IPBX_SIGN_IN_LOCKOUT_SECONDS must be at least 1",
                id="accounts.E002",
            )
        )
    return errors
