"""The lane's sipp scenarios run against each other on loopback (no switch needed): they
parse, a phone registers with digest auth, answers / rings out / is busy, takes a hold
re-INVITE, a caller sends the right RFC 2833 digits, and either side's BYE ends a call."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from tests.conformance.switch import SIPP_DIR, caller_scenario, udp_port

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(
        shutil.which("sipp") is None, reason="sipp missing (apt-get install sip-tester)"
    ),
]
EVENT_DIGITS = "0123456789*#"


def sipp(scenario: Path | str, *args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "sipp",
            "-sf",
            str(SIPP_DIR / scenario),
            "-i",
            "127.0.0.1",
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "20s",
            "-trace_err",
            *args,
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def pair(uas: list[str], uac: list[str], cwd: Path, check: bool = True) -> tuple[int, int]:
    """Run a UAS, then a UAC against it; both must finish one successful call."""
    port = udp_port()
    server = sipp(uas[0], "-p", str(port), "-mp", str(udp_port()), *uas[1:], cwd=cwd)
    time.sleep(0.5)
    client = sipp(
        uac[0],
        "-p",
        str(udp_port()),
        "-mp",
        str(udp_port()),
        *uac[1:],
        f"127.0.0.1:{port}",
        cwd=cwd,
    )
    codes = []
    for name, proc in (("UAC", client), ("UAS", server)):
        out, _ = proc.communicate(timeout=30)
        codes.append(proc.returncode)
        if check:
            assert proc.returncode == 0, f"{name}:\n{out.decode(errors='replace')[-2000:]}"
    return codes[0], codes[1]


def test_a_phone_registers_with_digest_auth(tmp_path):
    pair(
        ["selftest_registrar.xml", "-s", "1401", "-key", "password", "s3cret"],
        [
            "register.xml",
            "-s",
            "1401",
            "-au",
            "1401",
            "-ap",
            "s3cret",
            "-key",
            "domain",
            "conf.local",
            "-key",
            "contact_port",
            "15099",
            "-key",
            "expires",
            "3600",
        ],
        tmp_path,
    )


def test_a_wrong_password_is_refused(tmp_path):
    uac, _ = pair(
        ["selftest_registrar.xml", "-s", "1401", "-key", "password", "s3cret"],
        [
            "register.xml",
            "-s",
            "1401",
            "-au",
            "1401",
            "-ap",
            "wrong",
            "-key",
            "domain",
            "conf.local",
            "-key",
            "contact_port",
            "15099",
            "-key",
            "expires",
            "3600",
        ],
        tmp_path,
        check=False,
    )
    assert uac != 0, "a phone with the wrong password must not count as registered"


def test_phones_answer_take_a_hold_ring_out_and_are_busy(tmp_path):
    pair(
        ["phone_answer.xml", "-d", "200", "-aa"],
        ["selftest_switch_answer.xml", "-s", "1401"],
        tmp_path,
    )
    pair(["phone_noanswer.xml", "-aa"], ["selftest_switch_cancel.xml", "-s", "1401"], tmp_path)
    pair(["phone_busy.xml"], ["selftest_switch_busy.xml", "-s", "1401"], tmp_path)


def test_caller_hangs_up_after_talking_or_when_the_far_end_does(tmp_path):
    plain = caller_scenario("", 0.2, tmp_path)
    started = time.monotonic()
    pair(
        ["phone_answer.xml", "-d", "100", "-aa"],
        [str(plain), "-s", "8140", "-key", "ani", "5550401", "-recv_timeout", "1000"],
        tmp_path,
    )
    assert time.monotonic() - started >= 1.0  # talked its second, then hung up
    pair(
        ["far_end.xml", "-recv_timeout", "500", "-aa"],
        [str(plain), "-s", "5550411", "-key", "ani", "8000", "-recv_timeout", "20000"],
        tmp_path,
    )
    assert time.monotonic() - started < 15  # the far end's BYE ended it, not the 20 s


def test_caller_sends_rfc2833_digits(tmp_path):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.2)
    # a repeated digit (the 4711 of an account number) must reach the far end twice
    scenario = caller_scenario("1,422#", 0.3, tmp_path)
    pair(
        [
            "selftest_dtmf_sink.xml",
            "-d",
            "100",
            "-aa",
            "-key",
            "sink_port",
            str(sink.getsockname()[1]),
        ],
        [str(scenario), "-s", "8140", "-key", "ani", "5550401", "-recv_timeout", "500"],
        tmp_path,
    )
    events: dict[int, int] = {}  # RTP timestamp → event (one digit's packets share it)
    order: list[int] = []
    while True:
        try:
            packet = sink.recv(2048)
        except TimeoutError:
            break
        if packet[1] & 0x7F == 101 or len(packet) == 16:  # telephone-event
            stamp = struct.unpack("!I", packet[4:8])[0]
            if stamp not in events:
                order.append(stamp)
            events[stamp] = packet[12]
    sink.close()
    assert "".join(EVENT_DIGITS[events[s]] for s in order) == "1422#"
