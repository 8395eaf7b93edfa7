"""What the in-process icm benchmarks share: switchsim in a subprocess and a real IcmService
(gevent, Django set up by the caller) driving it. Import after monkey-patching."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import gevent
from django.conf import settings

from icm.daemon.collector import settle_collector
from icm.daemon.freeswitch.driver import SwitchAddress
from icm.daemon.wiring import IcmConfig, IcmService
from tests.fixtures.esl_client import EslClient


def sim_api(esl_port: int, command: str, timeout: float = 120) -> str:
    """An api command to switchsim on a connection of its own (the bench drives the
    stand-in's `sim_*` commands). Never on icm's connection: its reply would queue behind
    the events icm has not read yet (a flood's `sim_load` timed out there) and a command
    time-out closes icm's connection."""
    client = EslClient("127.0.0.1", esl_port, timeout=timeout)
    try:
        return client.api(command)
    finally:
        client.close()


def start_load(
    esl_port: int, rate: float, count: int, dnis: str, *options: str
) -> subprocess.Popen:
    """`count` calls to `dnis` at `rate` per second from a generator process of its own
    (bench.load_calls); `options` go to each `sim_call` (e.g. "patience=3600")."""
    args = ["--port", str(esl_port), "--rate", str(rate), "--count", str(count), "--dnis", dnis]
    if options:
        args += ["--options", " ".join(options)]
    return subprocess.Popen([sys.executable, "-m", "bench.load_calls", *args])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(check, timeout: float, what: str) -> None:
    """Yield to other greenlets until `check()` is true; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        gevent.sleep(0.01)


@contextmanager
def icm_on_switchsim(*sim_args: str) -> Iterator[tuple[IcmService, int]]:
    """(a connected IcmService, switchsim's ESL port); everything is stopped on exit."""
    esl_port, outbound_port = free_port(), free_port()
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "switchsim",
            "--esl-port",
            str(esl_port),
            "--outbound-socket",
            f"127.0.0.1:{outbound_port}",
            "--log-level",
            "WARNING",
            *sim_args,
        ]
    )
    service = None
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", esl_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        service = IcmService(
            IcmConfig(
                switch=SwitchAddress(
                    f"bench{uuid.uuid4().hex[:6]}", "127.0.0.1", esl_port, "ClueCon"
                ),
                redis_url=settings.REDIS_URL,
                outbound_host="127.0.0.1",
                outbound_port=outbound_port,
            )
        )
        service.start()
        settle_collector()  # as `manage.py icm` does
        wait(service.driver.connected.is_set, 20, "icm to connect")
        yield service, esl_port
    finally:
        if service is not None:
            try:
                sim_api(esl_port, "hupall NORMAL_CLEARING")
            except Exception:  # noqa: S110 - the switch may already be gone
                pass
            service.stop()
        sim.terminate()
        sim.wait(10)
