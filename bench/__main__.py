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
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], help="benchmarks to run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from ipbx_project.devservices import ensure

    env = dict(os.environ, **ensure(), DJANGO_SETTINGS_MODULE="ipbx_project.settings.dev")
    env["IPBX_LOG_LEVEL"] = "WARNING"
    env["REDIS_URL"] = env["REDIS_URL"].rsplit("/", 1)[0] + "/14"  # keep `make run`'s db clean
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)  # noqa: S603
    failed = False
    for name in args.names or list(BENCHMARKS):
        result = subprocess.run([sys.executable, "-m", BENCHMARKS[name]], cwd=ROOT, env=env)  # noqa: S603
        failed |= result.returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
