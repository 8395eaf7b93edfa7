"""Deployment checks of the IVR's data access (issue 18 item 9).

`manage.py check --deploy` warns (ivr.W001) when the SQL connector would connect to the
database as the application's own user: a connector query could then read every table
(password hashes, sessions) and signal the application's sessions. Give it a dedicated,
SELECT-only role with `IVR_SQL_DATABASE_URL` (docs/ivr.md, "Data access").
"""

from __future__ import annotations

import getpass
from typing import Any

import psycopg
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

W001_HINT = (
    "Create a PostgreSQL role that may only SELECT the tables flows read (and set "
    "default_transaction_read_only on it), and set IVR_SQL_DATABASE_URL to connect as it."
)


def _user_of(url: str) -> str:
    """The role a PostgreSQL URL or conninfo connects as (libpq's default: the OS user)."""
    try:
        user = psycopg.conninfo.conninfo_to_dict(url).get("user")
    except psycopg.ProgrammingError:
        return ""
    return str(user or _os_user())


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container): nothing to compare
        return ""


def sql_connector_role(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """ivr.W001: the SQL connector's `default` database is the application's own role."""
    url = str(getattr(settings, "IVR_SQL_DATABASE_URL", "") or "")
    app_user = str(settings.DATABASES["default"].get("USER") or _os_user())
    if not url:
        why = "IVR_SQL_DATABASE_URL is not set: the SQL connector connects as the application"
    elif _user_of(url) == app_user:
        why = f"IVR_SQL_DATABASE_URL connects as the application's own user {app_user!r}"
    else:
        return []
    return [Warning(f"{why} (its queries could read every table).", hint=W001_HINT, id="ivr.W001")]


def register_checks() -> None:
    register(sql_connector_role, Tags.security, deploy=True)
