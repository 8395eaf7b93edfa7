"""Agent desktop latency: from an agent's state change in icm's ACD to the frame on that
agent's desktop WebSocket, with BENCH_DESKTOP_AGENTS desktops connected (one per agent)
to a real web process (daphne), icm and switchsim, each in its own process.

Every agent flips ready / not ready once every BENCH_DESKTOP_PERIOD seconds (commands over
the bus, as the desktop sends them); the latency of a frame is its arrival time minus the
`since` the ACD stamped on the transition. Prints desktop_event_p50_ms, desktop_event_p99_ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
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

from agents.models import Agent, AgentStateChange  # noqa: E402
from icm.bus import keys  # noqa: E402
from icm.bus.commands import send_command  # noqa: E402
from icm.bus.events import EventType  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AGENTS = int(os.environ.get("BENCH_DESKTOP_AGENTS", "200"))
PERIOD = float(os.environ.get("BENCH_DESKTOP_PERIOD", "2"))
SECONDS = float(os.environ.get("BENCH_DESKTOP_SECONDS", "15"))
SWITCH = "benchdesk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing on port {port}")


def agents_with_sessions() -> list[tuple[str, str]]:
    """(login id, session cookie) for each bench agent, created fresh."""
    AgentStateChange.objects.filter(agent__login_id__startswith="bench-desk-").delete()
    Agent.objects.filter(login_id__startswith="bench-desk-").delete()
    User.objects.filter(username__startswith="bench-desk-").delete()
    out = []
    for i in range(AGENTS):
        name = f"bench-desk-{i:03d}"
        user = User.objects.create_user(name)
        Agent.objects.create(login_id=name, name=f"Desk {i}", user=user)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        out.append((name, session.session_key))
    connections.close_all()
    return out


def wait_icm_connected(client: redis.Redis, switch: str, timeout: float = 30) -> None:
    """Until the switch's icm says on the bus it is connected (TimeoutError after `timeout`)."""
    deadline = time.monotonic() + timeout
    while client.hget(keys.status_key(switch), "connected") != b"1":
        if time.monotonic() > deadline:
            raise TimeoutError("icm did not connect to switchsim")
        time.sleep(0.1)


def start(args: list[str], env: dict[str, str], log: str) -> subprocess.Popen:
    out = open(ROOT / "var" / f"bench-{log}.log", "w")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def desktop(
    agent: str,
    cookie: str,
    port: int,
    latencies: list[float],
    ready: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    url = f"ws://127.0.0.1:{port}/ws/agent/"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"}
    async with websockets.connect(url, additional_headers=headers, max_queue=None) as ws:
        ready.set()
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            now = time.time()
            event = json.loads(frame)
            state = event.get("agent") if event.get("type") == EventType.AGENT_STATE else None
            if state and state.get("agent") == agent and state.get("since"):
                latencies.append(now - float(state["since"]))


async def flip(client: redis.Redis, agents: list[str], stop: asyncio.Event) -> int:
    """Each agent toggles ready / not ready once per PERIOD, spread evenly."""
    sent, ready = 0, dict.fromkeys(agents, False)
    gap = PERIOD / len(agents)
    started = time.monotonic()
    while time.monotonic() - started < SECONDS:
        for agent in agents:
            name = "agent_not_ready" if ready[agent] else "agent_ready"
            await asyncio.to_thread(send_command, client, SWITCH, name, {"agent": agent})
            ready[agent] = not ready[agent]
            sent += 1
            await asyncio.sleep(gap)
    stop.set()
    return sent


async def run(sessions: list[tuple[str, str]], web_port: int, client: redis.Redis) -> None:
    latencies: list[float] = []
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in sessions]
    tasks = [
        asyncio.create_task(desktop(a, c, web_port, latencies, r, stop))
        for (a, c), r in zip(sessions, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)
    await asyncio.sleep(1)
    sent = await flip(client, [a for a, _ in sessions], stop)
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    out = sys.stdout
    out.write(
        f"desktop_clients: {len(sessions)} connected desktops, {sent} state changes in "
        f"{SECONDS:.0f} s, {len(latencies)} frames measured\n"
    )
    if latencies:
        out.write(f"desktop_event_p50_ms: {latencies[len(latencies) // 2] * 1000:.1f} ms\n")
        out.write(f"desktop_event_p99_ms: {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms\n")
    out.flush()


def main() -> None:
    sessions = agents_with_sessions()
    esl, outbound, web_port = free_port(), free_port(), free_port()
    env = dict(
        os.environ,
        IPBX_SWITCH_NAME=SWITCH,
        FREESWITCH_ESL_PORT=str(esl),
        FREESWITCH_ESL_HOST="127.0.0.1",
        ICM_OUTBOUND_PORT=str(outbound),
        IPBX_LOG_LEVEL="WARNING",
        DJANGO_ALLOW_ASYNC_UNSAFE="",
    )
    procs = [
        start(
            [
                sys.executable,
                "-m",
                "switchsim",
                "--esl-port",
                str(esl),
                "--outbound-socket",
                f"127.0.0.1:{outbound}",
                "--log-level",
                "WARNING",
            ],
            env,
            "desk-switchsim",
        )
    ]
    try:
        wait_port(esl)
        procs.append(start([sys.executable, "manage.py", "icm"], env, "desk-icm"))
        procs.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(web_port),
                    "ipbx_project.asgi:application",
                ],
                env,
                "desk-web",
            )
        )
        wait_port(web_port)
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        wait_icm_connected(client, SWITCH)
        for agent, _ in sessions:  # icm loaded the agents at start: sign them in, not ready
            send_command(client, SWITCH, "agent_login", {"agent": agent, "ready": False})
        asyncio.run(run(sessions, web_port, client))
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
