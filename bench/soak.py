"""Soak: a steady BENCH_SOAK_RATE calls/s (20) for `--minutes` (BENCH_SOAK_MINUTES, 60;
`make bench` runs 10) through switchsim, icm (`manage.py icm`) and the web process (daphne),
each in its own process, as production runs them (issue 21).

Callers go through icm's IVR socket and routing look-up to a queue of BENCH_SOAK_AGENTS
agents whose phones answer; every call is recorded (a recording policy for all calls), and
BENCH_SOAK_DESKTOPS agent desktops and BENCH_SOAK_WALLBOARDS wallboards stay connected,
reading every frame. Prints
- soak_calls: calls switchsim was asked to place;
- soak_calls_lost: of those, calls without a complete CDR (a row that ended) once the
  traffic drained (target 0);
- soak_rss_growth_mb_icm, soak_rss_growth_mb_web: resident memory at the end of the traffic
  minus after the warm-up (the first 20 % of the run), read from /proc (target ≤ 20 MB);
- soak_p99_dispatch_ms: icm's dispatch latency (switch event or queued contact → the
  agent's originate leaving icm) after the warm-up, from icm's report (icm.daemon.memory_report);
- soak_recordings: recordings catalogued for the soak's calls;
- soak_icm_backlog_at_end: icm's waiting work when the traffic ended (inbox items, outbox
  rows, facts): on a machine too busy for the rate, memory that is not kept per call.
With `--census`, icm's largest containers and object types after the warm-up and at the end
go to var/bench-soak-census.json (what grew: issue 21 finding 5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
django.setup()

import redis  # noqa: E402
import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connections  # noqa: E402

from agents.models import Agent, AgentSkill, AgentStateChange, Skill  # noqa: E402
from bench.desktop import free_port, start, wait_icm_connected, wait_port  # noqa: E402
from icm.bus import keys  # noqa: E402
from icm.bus.commands import send_command  # noqa: E402
from icm.daemon.memory_report import rss_kb  # noqa: E402
from icm.models import Call, Extension, InboundRoute, Queue, QueueSkill, Site  # noqa: E402
from recording.models import Recording, RecordingPolicy  # noqa: E402
from tests.fixtures.esl_client import EslClient  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RATE = float(os.environ.get("BENCH_SOAK_RATE", "20"))
AGENTS = int(os.environ.get("BENCH_SOAK_AGENTS", "80"))
TALK = os.environ.get("BENCH_SOAK_TALK", "1-3")  # seconds once bridged (switchsim's talk=)
DESKTOPS = int(os.environ.get("BENCH_SOAK_DESKTOPS", "10"))
WALLBOARDS = int(os.environ.get("BENCH_SOAK_WALLBOARDS", "3"))
WARM_UP = 0.2  # of the run
SAMPLE_SECONDS = 5.0  # resident memory read every …
LATENCY_SECONDS = 30.0  # icm's dispatch latencies collected every …
DRAIN_SECONDS = 120.0  # at most, after the last call placed, for the calls to end
SWITCH = "benchsoak"
DNIS = "8557"
PREFIX = "bench-soak-"


def call_center() -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    """The soak's queue, agents (extension 5000 + n), route and recording policy, created
    fresh: (agent, extension) pairs, (agent, session cookie) of the desktops, and the
    wallboards' (superuser's) session cookie."""
    AgentStateChange.objects.filter(agent__login_id__startswith=PREFIX).delete()
    Agent.objects.filter(login_id__startswith=PREFIX).delete()
    User.objects.filter(username__startswith=PREFIX).delete()
    InboundRoute.objects.filter(dnis=DNIS).delete()
    Queue.objects.filter(name="soak").delete()
    site, _ = Site.objects.get_or_create(
        code="soak", defaults={"name": "Soak", "sip_domain": "soak.local"}
    )
    skill, _ = Skill.objects.get_or_create(name="soak")
    queue = Queue.objects.create(
        site=site, name="soak", display_name="Soak", wrap_up_seconds=0, strategy="longest_idle"
    )
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=1)
    InboundRoute.objects.create(site=site, name="soak", dnis=DNIS, queue=queue)
    RecordingPolicy.objects.update_or_create(
        name="bench soak: all calls",
        defaults={"mode": "all", "format": "alaw", "stereo": True, "enabled": True},
    )
    agents, desktops = [], []
    for i in range(AGENTS):
        ext, _ = Extension.objects.get_or_create(
            site=site, number=f"{5000 + i}", defaults={"password": "x"}
        )
        login = f"{PREFIX}{i:03d}"
        user = User.objects.create_user(login) if i < DESKTOPS else None
        agent = Agent.objects.create(login_id=login, name=f"Soak {i}", extension=ext, user=user)
        AgentSkill.objects.create(agent=agent, skill=skill, level=5)
        agents.append((login, ext.number))
        if user is not None:
            desktops.append((login, _session(user)))
    admin = User.objects.create_superuser(f"{PREFIX}admin", email="")
    wallboard = _session(admin)
    connections.close_all()
    return agents, desktops, wallboard


def _session(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


@dataclass
class Sockets:
    """What the desktops and wallboards read: frames, and the sockets that ended early."""

    frames: int = 0
    closed: list[str] = field(default_factory=list)


async def reader(url: str, cookie: str, port: int, out: Sockets, stop: asyncio.Event) -> None:
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"}
    try:
        async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(ws.recv(), timeout=1)
                except TimeoutError:
                    continue
                out.frames += 1
    except Exception as exc:  # reported with the figures
        out.closed.append(f"{url}: {exc!r}")


@dataclass
class Probe:
    """icm's and the web process's resident memory, and icm's dispatch latencies."""

    icm: int
    web: int
    report: Path
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    dispatch_ms: list[float] = field(default_factory=list)
    seq: int = 0

    def sample(self) -> tuple[int, int]:
        row = (time.monotonic(), rss_kb(self.icm), rss_kb(self.web))
        self.samples.append(row)
        return row[1], row[2]

    async def ask(self, sig: signal.Signals) -> dict:
        """Signal icm and wait for its report (SIGUSR2: latencies; SIGUSR1: census)."""
        os.kill(self.icm, sig)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            try:
                report = json.loads(self.report.read_text())
            except (OSError, ValueError):
                continue
            if report["seq"] > self.seq:
                self.seq = report["seq"]
                return report
        raise TimeoutError("icm wrote no report")


def sweep(directory: Path, older_than: float) -> None:
    """Delete recordings the switch finished writing (the soak keeps the disk flat)."""
    limit = time.time() - older_than
    for path in directory.rglob("*.wav"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


async def soak(
    minutes: float, probe: Probe, web_port: int, esl: int, desktops, wallboard: str, census
) -> dict:
    """Place the calls, read the sockets, sample; returns the figures of the traffic."""
    stop = asyncio.Event()
    sockets = Sockets()
    tasks = [
        asyncio.create_task(
            reader(f"ws://127.0.0.1:{web_port}/ws/agent/", c, web_port, sockets, stop)
        )
        for _a, c in desktops
    ] + [
        asyncio.create_task(
            reader(f"ws://127.0.0.1:{web_port}/ws/wallboard/", wallboard, web_port, sockets, stop)
        )
        for _ in range(WALLBOARDS)
    ]
    seconds = minutes * 60
    count = round(RATE * seconds)
    prefix = f"9{random.randrange(100):02d}"
    load = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.load_calls",
            *("--port", str(esl), "--rate", str(RATE), "--count", str(count)),
            *("--dnis", DNIS, "--options", f"talk={TALK}", "--ani-prefix", prefix),
        ],
        cwd=ROOT,
    )
    started = time.monotonic()
    warm = started + seconds * WARM_UP
    base: tuple[int, int] | None = None
    next_latency = warm + LATENCY_SECONDS
    reports = {}
    while load.poll() is None:
        await asyncio.sleep(SAMPLE_SECONDS)
        now = time.monotonic()
        rss = probe.sample()
        await asyncio.to_thread(sweep, probe.report.parent / "recordings", 30)
        if base is None and now >= warm:
            await probe.ask(signal.SIGUSR2)  # the warm-up's latencies are dropped
            if census:
                reports["warm"] = await probe.ask(signal.SIGUSR1)
            base = probe.sample()
        elif base is not None and now >= next_latency:
            next_latency = now + LATENCY_SECONDS
            probe.dispatch_ms += (await probe.ask(signal.SIGUSR2))["dispatch_ms"]
        del rss
    end = probe.sample()
    last = await probe.ask(signal.SIGUSR2)
    probe.dispatch_ms += last["dispatch_ms"]
    if census:
        reports["end"] = await probe.ask(signal.SIGUSR1)
        reports["rss_kb"] = [(round(t - started), i, w) for t, i, w in probe.samples]
        (ROOT / "var" / "bench-soak-census.json").write_text(json.dumps(reports, indent=1))
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    base = base or end
    return {
        "count": count,
        "prefix": prefix,
        "elapsed": time.monotonic() - started,
        "icm_mb": ((end[0] - base[0]) / 1024, base[0] / 1024, end[0] / 1024),
        "web_mb": ((end[1] - base[1]) / 1024, base[1] / 1024, end[1] / 1024),
        "frames": sockets.frames,
        "closed": sockets.closed,
        "backlog": last["backlog"],
    }


def ended_calls(prefix: str) -> tuple[int, int]:
    """(complete CDRs, recordings) of the soak's callers."""
    calls = Call.objects.filter(ani__startswith=prefix, switch__name=SWITCH)
    done = calls.filter(ended_at__isnull=False).count()
    uuids = calls.values("call_uuid")
    recorded = Recording.objects.filter(switch=SWITCH, call_uuid__in=uuids).count()
    connections.close_all()
    return done, recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    minutes = float(os.environ.get("BENCH_SOAK_MINUTES", "60"))
    parser.add_argument("--minutes", type=float, default=minutes, help="traffic duration")
    parser.add_argument("--census", action="store_true", help="icm's containers, see above")
    args = parser.parse_args()
    agents, desktops, wallboard = call_center()
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    (work / "recordings").mkdir()
    esl, outbound, web_port = free_port(), free_port(), free_port()
    env = dict(
        os.environ,
        IPBX_SWITCH_NAME=SWITCH,
        FREESWITCH_ESL_PORT=str(esl),
        FREESWITCH_ESL_HOST="127.0.0.1",
        ICM_OUTBOUND_PORT=str(outbound),
        IPBX_LOG_LEVEL="WARNING",
        IPBX_RECORDINGS_DIR=str(work / "recordings"),
        IPBX_ICM_REPORT=str(work / "icm-report.json"),
        ICM_OUTBOX_DIR=str(work / "outbox"),
        DJANGO_ALLOW_ASYNC_UNSAFE="",
    )
    sim = [sys.executable, "-m", "switchsim", "--esl-port", str(esl)]
    sim += ["--outbound-socket", f"127.0.0.1:{outbound}", "--log-level", "WARNING"]
    sim += ["--recordings-dir", str(work / "recordings"), "--playback-seconds", "0.05"]
    web = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(web_port)]
    web += ["ipbx_project.asgi:application"]
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(keys.status_key(SWITCH))
    procs = [start(sim, env, "soak-switchsim")]
    try:
        wait_port(esl)
        procs.append(start([sys.executable, "manage.py", "icm"], env, "soak-icm"))
        procs.append(start(web, env, "soak-web"))
        wait_port(web_port)
        wait_icm_connected(client, SWITCH)
        esl_client = EslClient("127.0.0.1", esl, timeout=60)
        for login, extension in agents:
            esl_client.api(f"sim_register {extension} answer:0.2")
            send_command(client, SWITCH, "agent_login", {"agent": login, "ready": True})
        esl_client.close()
        probe = Probe(procs[1].pid, procs[2].pid, work / "icm-report.json")
        figures = asyncio.run(
            soak(args.minutes, probe, web_port, esl, desktops, wallboard, args.census)
        )
        deadline = time.monotonic() + DRAIN_SECONDS
        done, recorded = ended_calls(figures["prefix"])
        while min(done, recorded) < figures["count"] and time.monotonic() < deadline:
            time.sleep(2)
            done, recorded = ended_calls(figures["prefix"])
        report(figures, done, recorded, probe.dispatch_ms)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def report(figures: dict, done: int, recorded: int, dispatch_ms: list[float]) -> None:
    out = sys.stdout
    count, elapsed = figures["count"], figures["elapsed"]
    icm, web = figures["icm_mb"], figures["web_mb"]
    out.write(
        f"soak_calls: {count} calls at {RATE:g}/s in {elapsed / 60:.1f} min, {AGENTS} agents, "
        f"{DESKTOPS} desktops + {WALLBOARDS} wallboards ({figures['frames']} frames read)\n"
    )
    out.write(f"soak_calls_lost: {count - done}\n")
    out.write(f"soak_rss_growth_mb_icm: {icm[0]:.1f} MB ({icm[1]:.0f} → {icm[2]:.0f} MB)\n")
    out.write(f"soak_rss_growth_mb_web: {web[0]:.1f} MB ({web[1]:.0f} → {web[2]:.0f} MB)\n")
    if dispatch_ms:
        ordered = sorted(dispatch_ms)
        p99 = ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)]
        out.write(f"soak_p99_dispatch_ms: {p99:.1f} ms ({len(ordered)} offers)\n")
    out.write(f"soak_recordings: {recorded} of {count} calls\n")
    backlog = ", ".join(f"{k} {v}" for k, v in figures["backlog"].items())
    out.write(f"soak_icm_backlog_at_end: {backlog} (waiting work, in the growth above)\n")
    out.flush()
    for problem in figures["closed"][:5]:
        sys.stderr.write(f"soak bench: socket ended: {problem}\n")


if __name__ == "__main__":
    main()
