"""Wallboard latency and completeness: BENCH_WALLBOARD_AGENTS agents changing state at a
combined BENCH_WALLBOARD_RATE changes/s in icm's ACD, watched by BENCH_WALLBOARD_CLIENTS
wallboards (one administrator's WebSockets, `/ws/wallboard/`) on a real web process
(daphne), with icm and switchsim each in its own process.

The latency of an `agent.state` frame is its arrival time minus the `since` the ACD stamped
on the transition. Completeness is checked against the bus itself: the bench subscribes to
the events channel (`ipbx:events:14` on the bench's database) and records the sequence
number of every `agent.state` of its switch; each wallboard must then have received every
one after its (latest) snapshot, with its bus sequence numbers strictly increasing and its
own `wseq` contiguous. Prints
wallboard_event_p50_ms, wallboard_event_p99_ms, wallboard_missed_updates,
wallboard_out_of_order and wallboard_resyncs (snapshots after the first, per socket).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
django.setup()

import redis  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connections  # noqa: E402

from agents.models import Agent, AgentStateChange  # noqa: E402
from bench.desktop import free_port, start, wait_icm_connected, wait_port  # noqa: E402
from icm.bus import keys  # noqa: E402
from icm.bus.commands import CommandError, send_command  # noqa: E402
from icm.bus.events import EventType, FrameType  # noqa: E402

AGENTS = int(os.environ.get("BENCH_WALLBOARD_AGENTS", "500"))
RATE = float(os.environ.get("BENCH_WALLBOARD_RATE", "100"))  # changes/s, all agents together
CLIENTS = int(os.environ.get("BENCH_WALLBOARD_CLIENTS", "20"))
SECONDS = float(os.environ.get("BENCH_WALLBOARD_SECONDS", "20"))
SETTLE = 2.0  # s after the last change for stragglers
SENDERS = 16  # threads sending commands (each waits for icm's reply)
SWITCH = "benchwb"
ADMIN = "bench-wb-admin"


def agents_and_viewer() -> tuple[list[str], str]:
    """The bench agents' login ids (created fresh, active, no user) and the session cookie
    of the superuser whose wallboards watch them."""
    AgentStateChange.objects.filter(agent__login_id__startswith="bench-wb-").delete()
    Agent.objects.filter(login_id__startswith="bench-wb-").delete()
    User.objects.filter(username=ADMIN).delete()
    names = [f"bench-wb-{i:03d}" for i in range(AGENTS)]
    Agent.objects.bulk_create(Agent(login_id=n, name=f"Wallboard {n[9:]}") for n in names)
    admin = User.objects.create_superuser(ADMIN, email="")
    session = SessionStore()
    session[SESSION_KEY] = str(admin.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
    session.save()
    connections.close_all()
    return names, session.session_key


@dataclass
class Socket:
    """What one wallboard received: (arrival time, raw frame), and how it ended."""

    frames: list[tuple[float, str]] = field(default_factory=list)
    closed: str = ""


@dataclass
class Bus:
    """The bench switch's events as the bus carried them: every `agent.state` seq, with its
    `since` and arrival time, and when the switch's stream was reset (its seqs start again:
    they compare only between two resets)."""

    agent_seqs: list[tuple[int, int]] = field(default_factory=list)  # (resets before it, seq)
    timed: list[tuple[float, float]] = field(default_factory=list)  # (since, bus arrival)
    resets: list[float] = field(default_factory=list)  # arrival times


async def wallboard(cookie: str, port: int, sock: Socket, ready: asyncio.Event) -> None:
    url = f"ws://127.0.0.1:{port}/ws/wallboard/"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"}
    try:
        async with websockets.connect(
            url, additional_headers=headers, max_queue=None, max_size=None
        ) as ws:
            sock.frames.append((time.time(), await ws.recv()))
            ready.set()
            async for frame in ws:  # parsed after the run: the client stays light
                sock.frames.append((time.time(), frame))
            sock.closed = f"closed by the server ({ws.close_code} {ws.close_reason})"
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # reported with the figures
        sock.closed = f"failed: {exc!r}"
        ready.set()


async def record(bus: Bus, subscribed: asyncio.Event, stop: asyncio.Event) -> None:
    client = aioredis.from_url(os.environ["REDIS_URL"])
    try:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(keys.events_channel(client))
            while True:  # the subscription is live once Redis confirms it
                message = await pubsub.get_message(timeout=5)
                if message and message["type"] == "subscribe":
                    break
            subscribed.set()
            while not stop.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
                if message is None:
                    continue
                now = time.time()
                event = json.loads(message["data"])
                if event.get("switch") != SWITCH:
                    continue
                if event.get("type") == EventType.RESET:
                    bus.resets.append(now)
                elif event.get("type") == EventType.AGENT_STATE and isinstance(
                    event.get("seq"), int
                ):
                    bus.agent_seqs.append((len(bus.resets), event["seq"]))
                    since = (event.get("agent") or {}).get("since")
                    if since:
                        bus.timed.append((float(since), now))
    finally:
        await client.aclose()


async def drive(
    client: redis.Redis, agents: list[str], pool: ThreadPoolExecutor
) -> tuple[int, int, float, dict[str, str]]:
    """RATE changes/s in all, agents taking turns (each flips ready / not ready once every
    AGENTS / RATE s); commands leave on a fixed schedule, their replies awaited in threads.
    Returns (changes done, refused, seconds from first command to last reply, each agent's
    state after its last change as icm replied)."""
    loop = asyncio.get_running_loop()
    ready = dict.fromkeys(agents, False)
    pending = []
    started = time.monotonic()
    for i in range(round(RATE * SECONDS)):
        delay = started + i / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        agent = agents[i % len(agents)]
        name = "agent_not_ready" if ready[agent] else "agent_ready"
        ready[agent] = not ready[agent]
        args = (client, SWITCH, name, {"agent": agent})
        pending.append(loop.run_in_executor(pool, send_command, *args))
    results = await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.monotonic() - started
    refused = [r for r in results if isinstance(r, BaseException)]
    final = {r["agent"]: r["state"] for r in results if isinstance(r, dict) and "agent" in r}
    for exc in refused[:3]:
        if not isinstance(exc, CommandError):
            raise exc
        sys.stderr.write(f"wallboard bench: command refused: {exc}\n")
    return len(results) - len(refused), len(refused), elapsed, final


@dataclass
class Check:
    latencies: list[float] = field(default_factory=list)
    missed: int = 0
    out_of_order: int = 0
    resyncs: int = 0
    resyncs_driving: int = 0
    early: list[float] = field(default_factory=list)  # s from first to next snapshot, idle
    frames: int = 0
    problems: list[str] = field(default_factory=list)


def check(sockets: list[Socket], bus: Bus, drive_start: float, final: dict[str, str]) -> Check:
    """Each socket against the bus: every agent.state after its latest snapshot received,
    bus seqs strictly increasing from each snapshot on, wseq contiguous. Each hole in wseq
    counts as missed too (so a lost agent.state frame counts twice: its seq and its wseq).
    Each wallboard's final view of the agents (snapshot + events) must match icm's."""
    out = Check()
    for n, sock in enumerate(sockets):
        if sock.closed:
            out.problems.append(f"wallboard {n}: {sock.closed}")
        wseq = epoch = 0
        snap_seq: int | None = None
        last = 0
        received: set[int] = set()
        shown: dict[str, str] = {}
        for arrived, raw in sock.frames:
            frame = json.loads(raw)
            out.frames += 1
            w = frame.get("wseq")
            if isinstance(w, int):
                if w > wseq + 1:
                    out.missed += w - wseq - 1  # frames the socket skipped
                elif w <= wseq:
                    out.out_of_order += 1
                wseq = max(wseq, w)
            kind = frame.get("type")
            if kind == FrameType.SNAPSHOT:
                if snap_seq is not None:
                    out.resyncs += 1
                    out.resyncs_driving += arrived >= drive_start
                    if arrived < drive_start:
                        out.early.append(arrived - sock.frames[0][0])
                if SWITCH not in frame.get("seq", {}):
                    out.problems.append(f"wallboard {n}: snapshot without switch {SWITCH}")
                snap_seq = last = int(frame.get("seq", {}).get(SWITCH, 0))
                epoch = sum(1 for t in bus.resets if t < arrived)  # resets it reflects
                received = set()  # what the snapshot covers needs no event
                shown = {a.get("agent"): a.get("state") for a in frame.get("agents", [])}
                continue
            seq = frame.get("seq")
            if frame.get("switch") != SWITCH or not isinstance(seq, int) or snap_seq is None:
                continue
            if seq <= last:
                out.out_of_order += 1
            last = max(last, seq)
            if kind == EventType.AGENT_STATE:
                received.add(seq)
                row = frame.get("agent") or {}
                shown[row.get("agent")] = row.get("state")
                since = row.get("since")
                if since:
                    out.latencies.append(arrived - float(since))
        if snap_seq is None:
            out.problems.append(f"wallboard {n}: no snapshot")
            continue
        for e, s in bus.agent_seqs:  # a reset after the snapshot leaves it all to come
            out.missed += e > epoch or (e == epoch and s > snap_seq and s not in received)
        wrong = sorted(a for a, state in final.items() if shown.get(a) != state)
        if wrong:
            out.problems.append(
                f"wallboard {n}: {len(wrong)} agents shown in a state icm "
                f"does not hold, e.g. {wrong[0]} {shown.get(wrong[0])!r} "
                f"(icm: {final[wrong[0]]!r})"
            )
    out.latencies.sort()
    return out


async def run(agents: list[str], cookie: str, web_port: int, client: redis.Redis) -> None:
    bus, stop, subscribed = Bus(), asyncio.Event(), asyncio.Event()
    recorder = asyncio.create_task(record(bus, subscribed, stop))
    await asyncio.wait_for(subscribed.wait(), timeout=10)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(SENDERS) as pool:
        # icm loaded the agents at start: sign them in, not ready
        logins = [
            loop.run_in_executor(
                pool, send_command, client, SWITCH, "agent_login", {"agent": a, "ready": False}
            )
            for a in agents
        ]
        await asyncio.gather(*logins)
        sockets = [Socket() for _ in range(CLIENTS)]
        readies = [asyncio.Event() for _ in sockets]
        readers = [
            asyncio.create_task(wallboard(cookie, web_port, s, r))
            for s, r in zip(sockets, readies, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)
        await asyncio.sleep(1)
        drive_start = time.time()
        changes, refused, elapsed, final = await drive(client, agents, pool)
    await asyncio.sleep(SETTLE)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    stop.set()
    await recorder
    result = check(sockets, bus, drive_start, final)
    lat = result.latencies
    lags = sorted(at - since for since, at in bus.timed if since >= drive_start)  # icm's share
    out = sys.stdout
    out.write(
        f"wallboard_clients: {CLIENTS} wallboards, {len(agents)} agents, {changes} state "
        f"changes in {elapsed:.1f} s = {changes / elapsed:.1f} changes/s (target {RATE:g}"
        f"{f', {refused} refused' if refused else ''}), {len(lags)} of them on "
        f"the bus (p99 {_pct(lags, 0.99):.1f} ms after the change), {len(lat)} frames "
        f"measured, {result.resyncs_driving} resyncs while driving\n"
    )
    if lat:
        out.write(f"wallboard_event_p50_ms: {_pct(lat, 0.5):.1f} ms\n")
        out.write(f"wallboard_event_p99_ms: {_pct(lat, 0.99):.1f} ms\n")
    out.write(f"wallboard_missed_updates: {result.missed}\n")
    out.write(f"wallboard_out_of_order: {result.out_of_order}\n")
    out.write(f"wallboard_resyncs: {result.resyncs}\n")
    out.flush()
    if result.early:  # the web process's first bus subscription asks its pages to resync
        result.problems.append(
            f"{len(result.early)} resyncs before driving, at most "
            f"{max(result.early):.2f} s after the first snapshot"
        )
    if bus.resets:
        result.problems.append(f"{len(bus.resets)} bus resets of {SWITCH}")
    for problem in result.problems:
        sys.stderr.write(f"wallboard bench: {problem}\n")


def _pct(values: list[float], q: float) -> float:
    return values[min(int(len(values) * q), len(values) - 1)] * 1000 if values else 0.0


def main() -> None:
    agents, cookie = agents_and_viewer()
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
    sim = [
        sys.executable,
        "-m",
        "switchsim",
        "--esl-port",
        str(esl),
        "--outbound-socket",
        f"127.0.0.1:{outbound}",
        "--log-level",
        "WARNING",
    ]
    web = [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(web_port),
        "ipbx_project.asgi:application",
    ]
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    # the last run's icm left "connected" behind: wait for this run's, after its reset
    client.delete(keys.status_key(SWITCH))
    procs = [start(sim, env, "wb-switchsim")]
    try:
        wait_port(esl)
        procs.append(start([sys.executable, "manage.py", "icm"], env, "wb-icm"))
        procs.append(start(web, env, "wb-web"))
        wait_port(web_port)
        wait_icm_connected(client, SWITCH)
        asyncio.run(run(agents, cookie, web_port, client))
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
