"""Run benchmarks by name (all when none is given)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    "esl": "bench.esl_icm",
    "acd": "bench.acd",
    "acd_e2e": "bench.acd_e2e",
    "ivr": "bench.ivr",
    "desktop": "bench.desktop",
    "wallboard": "bench.wallboard",
    "recording": "bench.recording",
    "outbound": "bench.outbound",
    "stats": "bench.stats",
    "soak": "bench.soak",  # an hour by default: `--minutes` (`make bench`: 10)
}


def _bench_database(url: str) -> str:
    """A database of its own (`ipbx_bench`) on the same server, so benchmarks leave the
    development data alone."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    bench = urlunsplit(parts._replace(path="/ipbx_bench"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'ipbx_bench'").fetchone():
            conn.execute("CREATE DATABASE ipbx_bench")
    return bench


def _conninfo(url: str) -> str:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    host = cfg["HOST"] or cfg["OPTIONS"].get("host", "")
    info = f"dbname={cfg['NAME']} user={cfg['USER']} host={host} port={cfg['PORT'] or 5432}"
    return info + (f" password={cfg['PASSWORD']}" if cfg["PASSWORD"] else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], help="benchmarks to run")
    parser.add_argument("--minutes", type=float, help="the soak's duration (default 60)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from ipbx_project.devservices import ensure

    env = dict(os.environ, **ensure(), DJANGO_SETTINGS_MODULE="ipbx_project.settings.dev")
    env["DATABASE_URL"] = _bench_database(env["DATABASE_URL"])
    env["IPBX_LOG_LEVEL"] = "WARNING"
    if args.minutes:
        env["BENCH_SOAK_MINUTES"] = str(args.minutes)
    env["REDIS_URL"] = env["REDIS_URL"].rsplit("/", 1)[0] + "/14"  # keep `make run`'s db clean
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)
    # every run starts on empty tables: the calls, CDRs and facts of earlier runs made later
    # figures drift (a larger history to index and vacuum behind the measured load)
    flush = [sys.executable, "manage.py", "flush", "--no-input", "-v", "0"]
    subprocess.run(flush, cwd=ROOT, env=env, check=True)
    failed = False
    # `acd` is covered by `bench acd` (domain) + `acd_e2e` (through the switch)
    names = args.names or list(BENCHMARKS)
    if "acd" in names and "acd_e2e" not in names:
        names.append("acd_e2e")
    for name in names:
        result = subprocess.run([sys.executable, "-m", BENCHMARKS[name]], cwd=ROOT, env=env)
        failed |= result.returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
