"""`make run`: prepare the database and start web, icm, Celery worker + beat, and switchsim
with demo traffic when no FreeSWITCH is configured (FREESWITCH_ESL_HOST unset).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from ipbx_project.devservices import VAR, ensure

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("run_platform")


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)  # noqa: S603


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
    env = ensure()
    _manage("migrate", "--no-input", "-v", "0")
    _manage("load_demo")
    procfile = (ROOT / "Procfile").read_text()
    use_switchsim = not os.environ.get("FREESWITCH_ESL_HOST")
    if use_switchsim:
        procfile += (ROOT / "Procfile.switchsim").read_text()
    run_procfile = VAR / "Procfile.run"
    run_procfile.write_text(procfile)
    port = os.environ.get("IPBX_WEB_PORT", "8000")
    host = os.environ.get("IPBX_WEB_HOST", "127.0.0.1")
    switch = (
        "switchsim with demo traffic"
        if use_switchsim
        else f"FreeSWITCH at {os.environ['FREESWITCH_ESL_HOST']}"
    )
    banner = [
        "",
        "IPBX is starting:",
        f"  live calls      http://{host}:{port}/calls/",
        f"  admin           http://{host}:{port}/admin/",
        f"  live API        curl -u admin:admin http://{host}:{port}/api/live/",
        "  demo logins     admin / admin (administrator), leader / leader (team leader),",
        "                  a1001 … a1010 / demo (agents)",
        f"  switch          {switch}",
        f"  database        {env['DATABASE_URL']}",
        f"  redis           {env['REDIS_URL']}",
        "  stop with Ctrl-C",
        "",
    ]
    sys.stdout.write("\n".join(banner) + "\n")
    sys.stdout.flush()
    honcho = str(Path(sys.executable).parent / "honcho")
    os.execvpe(  # noqa: S606
        honcho,
        [honcho, "start", "-f", str(run_procfile), "-d", str(ROOT)],
        os.environ,
    )


if __name__ == "__main__":
    main()
