"""The SQL connector: one parameterised, read-only query against a configured database.

Values are always bound as parameters (psycopg's server-side binding: a quote in a caller's
digits is data, never SQL); the session is read-only with a statement time-out. Connections
are kept in a small free list per database, so a lookup does not pay for a new session.

`database: "default"` connects as `IVR_SQL_DATABASE_URL`, a dedicated role that may only
SELECT what flows read (issue 18 item 9): a connector query cannot read the application's
tables (password hashes, sessions) nor signal its sessions. Without it, the application's own
credentials are used and `check --deploy` warns (ivr.W001, `ivr/checks.py`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any

import psycopg
from django.conf import settings

_PARAM = re.compile(r"%\((\w+)\)s")
_FREE: dict[str, list[psycopg.Connection]] = {}
FREE_PER_DATABASE = 4


class SqlConfigError(ValueError):
    pass


def check(config: Mapping[str, Any]) -> None:
    query = str(config.get("query") or "").strip()
    if not query:
        raise SqlConfigError("an SQL connector needs a query")
    if not re.match(r"(?is)^\s*(select|with)\b", query):
        raise SqlConfigError("the query must be a SELECT (or WITH … SELECT)")
    if ";" in query.rstrip().rstrip(";"):
        raise SqlConfigError("one statement only")
    stray = re.sub(_PARAM, "", query).replace("%%", "")
    if "%" in stray:
        raise SqlConfigError("parameters are written %(name)s")
    _conninfo(str(config.get("database") or "default"))


def parameters(config: Mapping[str, Any]) -> set[str]:
    return set(_PARAM.findall(str(config.get("query") or "")))


def run(config: Mapping[str, Any], params: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """The first row as {column: value}; {} when there is none."""
    query = str(config["query"]).strip().rstrip(";")
    missing = parameters(config) - set(params)
    if missing:
        raise LookupError(f"missing parameter(s) {sorted(missing)}")
    conninfo = _conninfo(str(config.get("database") or "default"))
    values = {k: params[k] for k in parameters(config)}
    conn, pooled = _take(conninfo, timeout)
    try:
        columns, row = _query(conn, query, values, timeout)
    except psycopg.OperationalError:
        conn.close()
        if not pooled:
            raise
        # a kept connection the server dropped meanwhile (restart, idle kill): once more
        conn = _connect(conninfo, timeout)
        try:
            columns, row = _query(conn, query, values, timeout)
        except BaseException:
            conn.close()
            raise
    except BaseException:
        conn.close()
        raise
    _give_back(conninfo, conn)
    return dict(zip(columns, row, strict=True)) if row else {}


def _query(
    conn: psycopg.Connection, query: str, values: dict[str, Any], timeout: float
) -> tuple[list[str], Any]:
    with conn.cursor() as cur:
        cur.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
        cur.execute(query.encode(), values)
        row = cur.fetchone()
        columns = [c.name for c in cur.description or []]
    conn.rollback()
    return columns, row


def _conninfo(database: str) -> str:
    if database == "default" and getattr(settings, "IVR_SQL_DATABASE_URL", ""):
        return str(settings.IVR_SQL_DATABASE_URL)
    if database == "default":
        db = settings.DATABASES["default"]
        parts = {
            "dbname": db.get("NAME"),
            "user": db.get("USER"),
            "password": db.get("PASSWORD"),
            "host": db.get("HOST"),
            "port": db.get("PORT"),
        }
        return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in parts.items() if v})
    value = os.environ.get(database, "")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", database) or not value:
        raise SqlConfigError(
            f"database {database!r}: use 'default' or the name of an environment variable "
            "holding a PostgreSQL URL"
        )
    return value


def _take(conninfo: str, timeout: float) -> tuple[psycopg.Connection, bool]:
    """A kept connection (True) or a new one (False)."""
    free = _FREE.setdefault(conninfo, [])
    while free:
        conn = free.pop()
        if not conn.closed:
            return conn, True
    return _connect(conninfo, timeout), False


def _connect(conninfo: str, timeout: float) -> psycopg.Connection:
    return psycopg.connect(
        conninfo,
        connect_timeout=max(2, math.ceil(timeout)),
        options="-c default_transaction_read_only=on",
        application_name="ipbx-ivr-connector",
        # a network stall (no answer at all) ends the query too, not only slow SQL
        tcp_user_timeout=int(timeout * 1000) + 1000,
    )


def _give_back(conninfo: str, conn: psycopg.Connection) -> None:
    free = _FREE.setdefault(conninfo, [])
    if len(free) < FREE_PER_DATABASE:
        free.append(conn)
    else:
        conn.close()
