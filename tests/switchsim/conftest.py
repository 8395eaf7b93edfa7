"""Fixtures: a switchsim subprocess on a free port, and ESL clients talking to it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.switchsim.eslraw import EventLog, RawESL

ROOT = Path(__file__).resolve().parents[2]


class SwitchSim:
    """A running ``python -m switchsim`` process."""

    def __init__(self, args: list[str], tmp: Path) -> None:
        self.recordings = tmp / "recordings"
        cmd = [
            sys.executable,
            "-m",
            "switchsim",
            "--esl-port",
            "0",
            "--recordings-dir",
            str(self.recordings),
            "--log-level",
            "DEBUG",
            *args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.log: list[str] = []
        self.port = 0
        ready = threading.Event()

        def pump() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log.append(line)
                m = re.search(r"switchsim listening on [\d.]+:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(10):
            self.proc.kill()
            raise RuntimeError("switchsim did not start:\n" + "".join(self.log))

    def raw(self) -> RawESL:
        c = RawESL(self.port)
        c.pending = []
        return c

    def authed(self) -> RawESL:
        c = self.raw()
        assert c.auth().headers["Reply-Text"] == "+OK accepted"
        return c

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.returncode


def start_switchsim(args: list[str], tmp: Path) -> SwitchSim:
    return SwitchSim(args, tmp)


@pytest.fixture(scope="module")
def switchsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    """One switchsim per test module (short playback, fast heartbeat; mod_amd loaded, as
    test_far_end checks its verdicts)."""
    sim = SwitchSim(
        [
            "--playback-seconds",
            "0.2",
            "--heartbeat-interval",
            "1",
            "--gateway-answer-delay",
            "0.2",
            "--with-module",
            "mod_amd",
        ],
        tmp_path_factory.mktemp("switchsim"),
    )
    yield sim
    sim.stop()


@pytest.fixture
def esl(switchsim: SwitchSim) -> Iterator[RawESL]:
    c = switchsim.authed()
    yield c
    c.close()


def wait_for(pred, timeout: float = 5.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@pytest.fixture
def log(sim: SwitchSim) -> Iterator[EventLog]:
    """An event-logging ESL client on the module's own `sim` (modules define that fixture
    with the switchsim options they need); hangs everything up afterwards."""
    c = EventLog(sim.authed())
    yield c
    c.api("hupall")
    c.close()
