"""The conformance lane's switch backends: switchsim (CI) or a real FreeSWITCH whose phones,
callers and far ends are sipp user agents. Every scenario drives the switch through this
interface only, so the same test asserts the same thing on both."""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import subprocess
import sys
import time
import uuid as uuidlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fixtures.esl_client import EslClient, EventCollector, free_port, wait_for_port
from tests.fixtures.processes import LOG_DIR, Platform, Proc, base_env, start_icm
from tests.fixtures.waiting import wait_until

log = logging.getLogger(__name__)
SIPP_DIR = Path(__file__).resolve().parent / "sipp"
# Debian's sip-tester ships one RFC 2833 event per digit as a pcap
DTMF_PCAP_DIR = Path(os.environ.get("IPBX_CONFORMANCE_DTMF_PCAPS", "/usr/share/sip-tester"))
DTMF_FILES = {
    **{d: f"dtmf_2833_{d}.pcap" for d in "0123456789"},
    "#": "dtmf_2833_pound.pcap",
    "*": "dtmf_2833_star.pcap",
}
DTMF_MARKER = "<!-- DTMF -->"


class Backend(ABC):
    """A switch with phones and callers; icm runs against it (`start`)."""

    kind: str
    switch: str  # icm's switch name (the Switch row)
    icm: Proc

    @abstractmethod
    def start(self, **icm_env: str) -> None:
        """Start icm (and the switch, when the lane owns it) once the test's data is in place."""

    @abstractmethod
    def register_phone(self, ext: str, behaviour: str) -> None:
        """`answer:<s>` (picks up after s seconds), `noanswer` (rings) or `busy`."""

    @abstractmethod
    def unregister_phone(self, ext: str) -> None:
        """The phone signs off (a REGISTER with Expires: 0); `register_phone` brings it back."""

    @abstractmethod
    def call_in(
        self,
        ani: str,
        dnis: str,
        talk: float = 600,
        patience: float | None = None,
        dtmf: str = "",
        dtmf_delay: float = 1.5,
    ) -> str:
        """A customer calls `dnis` from `ani` through the carrier side; talks `talk` s (on
        switchsim from the bridge, with sipp from the answer) unless hung up first; answers
        the IVR's prompts with `dtmf` (comma between prompts). `patience`: hangs up after
        that many s unless bridged (switchsim); a sipp caller cannot see the bridge and hangs
        up after min(talk, patience) s from the answer. Returns its channel's uuid."""

    @abstractmethod
    def far_end(self, number: str, ring: float = 0.2, talk: float = 1.5) -> None:
        """The person a campaign dials at `number` answers after `ring` s, talks `talk` s."""

    @abstractmethod
    def far_end_outcomes(self, number: str, outcomes: str, ring: float = 0.3) -> None:
        """The person at `number` answers the dials in turn as `outcomes` says (comma list of
        answered / no_answer / busy), e.g. `no_answer,answered`."""

    @abstractmethod
    def dial_from_phone(self, ext: str, number: str) -> str:
        """The registered phone `ext` dials `number` (a feature code): its channel's uuid."""

    @abstractmethod
    def esl(self) -> EslClient:
        """A control connection for api commands."""

    @abstractmethod
    def events(self, names: str) -> EventCollector:
        """Collect events (`event json <names>`) from now on."""

    @abstractmethod
    def restart_switch(self) -> None:
        """The switch dies (kill -9) and comes back; its phones register again."""

    @abstractmethod
    def restart_icm(self) -> None:
        """icm dies (kill -9) and comes back on the same switch."""

    @abstractmethod
    def close(self) -> None:
        """Stop whatever the backend started."""

    def hangup(self, uuid: str) -> None:
        """The switch hangs a channel up (as if the party hung up)."""
        esl = self.esl()
        try:
            reply = esl.api(f"uuid_kill {uuid}")
            assert reply.startswith("+OK") or "No such channel" in reply, reply
        finally:
            esl.close()

    def api(self, command: str) -> str:
        esl = self.esl()
        try:
            return esl.api(command)
        finally:
            esl.close()

    def recordings_dir(self, tmp_path: Path) -> Path:
        """Where the switch writes and the catalogue reads recordings (one storage)."""
        return tmp_path


class SwitchsimBackend(Backend):
    """switchsim + icm from tests/fixtures/processes.py; `sim_args` select its behaviours."""

    def __init__(
        self, kind: str, platform_factory: Callable[..., Platform], sim_args: tuple[str, ...] = ()
    ) -> None:
        self.kind = kind
        self.factory = platform_factory
        self.sim_args = sim_args
        self.phones: dict[str, str] = {}
        self.platform: Platform | None = None
        self.icm_env: dict[str, str] = {}

    def start(self, **icm_env: str) -> None:
        self.icm_env = icm_env
        self.platform = self.factory(*self.sim_args, **icm_env)
        self.switch = self.platform.switch
        self.icm = self.platform.icm

    def _sim(self, command: str) -> str:
        reply = self.api(command)
        assert reply.startswith("+OK"), f"{command}: {reply}"
        return reply

    def register_phone(self, ext: str, behaviour: str) -> None:
        self.phones[ext] = behaviour
        self._sim(f"sim_register {ext} {behaviour}")

    def unregister_phone(self, ext: str) -> None:
        self.phones.pop(ext, None)
        self._sim(f"sim_unregister {ext}")

    def call_in(
        self,
        ani: str,
        dnis: str,
        talk: float = 600,
        patience: float | None = None,
        dtmf: str = "",
        dtmf_delay: float = 1.5,
    ) -> str:
        extra = f" dtmf={dtmf}" if dtmf else ""  # switchsim answers each prompt as it plays
        extra += f" patience={patience}" if patience is not None else ""
        return self._sim(f"sim_call {ani} {dnis} talk={talk}{extra}").split()[1]

    def far_end(self, number: str, ring: float = 0.2, talk: float = 1.5) -> None:
        self._sim(f"sim_far_end {number} answered ring={ring} talk={talk}")

    def far_end_outcomes(self, number: str, outcomes: str, ring: float = 0.3) -> None:
        self._sim(f"sim_far_end {number} {outcomes} ring={ring} talk=30")

    def dial_from_phone(self, ext: str, number: str) -> str:
        return self._sim(f"sim_call {ext} {number} context=default").split()[1]

    def esl(self) -> EslClient:
        assert self.platform is not None
        return self.platform.control()

    def events(self, names: str) -> EventCollector:
        assert self.platform is not None
        return EventCollector("127.0.0.1", self.platform.esl_port, names)

    def restart_switch(self) -> None:
        plat = self.platform
        assert plat is not None
        plat.restart_switchsim(crash=True)  # the same behaviours (sim_args) again
        for ext, behaviour in self.phones.items():
            self._sim(f"sim_register {ext} {behaviour}")

    def restart_icm(self) -> None:
        plat = self.platform
        assert plat is not None
        plat.icm.crash()
        plat.icm = start_icm(plat.switch, plat.esl_port, plat.outbound_port, **self.icm_env)
        self.icm = plat.icm

    def close(self) -> None:
        pass  # platform_factory stops switchsim and icm


@dataclass
class FreeswitchConfig:
    """The real switch the lane runs against, from the environment (docs/conformance.md)."""

    esl_host: str
    esl_port: int
    esl_password: str
    internal: tuple[str, int]  # the internal profile (phones register here)
    external: tuple[str, int]  # the external profile (callers come in here)
    web_url: str  # the xml_curl URL the switch fetches from (the lane's web serves it)
    local_ip: str  # this host as the switch reaches it (sipp's SIP/RTP, icm's outbound socket)
    domain: str  # the switch's $${domain}: the test Site's sip_domain
    carrier: tuple[str, int] | None  # where the gateway "carrier" points (campaign far ends)
    restart_cmd: str
    recordings: str
    icm_outbound_port: int

    @classmethod
    def from_env(cls) -> FreeswitchConfig | None:
        spec = os.environ.get("IPBX_CONFORMANCE_ESL", "")
        if not spec:
            return None
        host, port, password = spec.split(":", 2)

        def hostport(name: str, default: str = "") -> tuple[str, int]:
            value = os.environ.get(name, default)
            if not value:
                raise pytest.UsageError(f"{name}=host:port is needed with IPBX_CONFORMANCE_ESL")
            h, _, p = value.rpartition(":")
            return h, int(p)

        carrier = os.environ.get("IPBX_CONFORMANCE_CARRIER", "")
        return cls(
            esl_host=host,
            esl_port=int(port),
            esl_password=password,
            internal=hostport("IPBX_CONFORMANCE_SIP", f"{host}:5060"),
            external=hostport("IPBX_CONFORMANCE_EXTERNAL", f"{host}:5080"),
            web_url=os.environ.get(
                "IPBX_CONFORMANCE_WEB", "http://127.0.0.1:8765/freeswitch/xml_curl/"
            ),
            local_ip=os.environ.get("IPBX_CONFORMANCE_LOCAL_IP", "127.0.0.1"),
            domain=os.environ.get("IPBX_CONFORMANCE_DOMAIN", "hq.ipbx.local"),
            carrier=hostport("IPBX_CONFORMANCE_CARRIER") if carrier else None,
            restart_cmd=os.environ.get("IPBX_CONFORMANCE_RESTART_CMD", ""),
            recordings=os.environ.get("IPBX_CONFORMANCE_RECORDINGS", ""),
            icm_outbound_port=int(os.environ.get("IPBX_CONFORMANCE_ICM_OUTBOUND_PORT", "8084")),
        )


def udp_port() -> int:
    """A free UDP port (all interfaces: sipp's), this xdist worker's own."""
    return free_port(socket.SOCK_DGRAM, "")


@dataclass
class Sipp:
    """One sipp process (a phone's UAS, a registration, a caller, a far end)."""

    name: str
    args: list[str]
    proc: subprocess.Popen | None = None
    log_path: Path = field(default_factory=Path)

    def start(self) -> Sipp:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"sipp-{self.name}-{uuidlib.uuid4().hex[:6]}.log"
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    "sipp",
                    *self.args,
                    "-nostdin",
                    "-trace_err",
                    "-trace_logs",
                    "-log_file",
                    str(self.log_path.with_suffix(".trace")),
                ],
                cwd=LOG_DIR,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def dtmf_pcap(digit: str, index: int, directory: Path) -> Path:
    """The package's RFC 2833 pcap for `digit`, its RTP sequence numbers and timestamp moved
    to the call's `index`-th key press. sipp replays a pcap's RTP headers as they are, and
    every packet of a digit's pcap carries the same timestamp: a real switch takes a second
    press of that digit (4711) for a retransmission of the first and drops it."""
    data = bytearray((DTMF_PCAP_DIR / DTMF_FILES[digit]).read_bytes())
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4, "a little-endian libpcap file"
    assert struct.unpack_from("<I", data, 20)[0] == 1, "Ethernet frames"
    offset, packet = 24, 0
    while offset < len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        frame = offset + 16
        ip = frame + 14
        udp = ip + (data[ip] & 0x0F) * 4
        rtp = udp + 8
        struct.pack_into("!H", data, udp + 6, 0)  # no UDP checksum (IPv4 allows it)
        struct.pack_into("!HI", data, rtp + 2, 1000 + index * 20 + packet, 8000 + index * 2400)
        offset, packet = frame + length, packet + 1
    path = directory / f"dtmf-{index}-{DTMF_FILES[digit]}"
    path.write_bytes(bytes(data))
    return path


def caller_scenario(dtmf: str, delay: float, directory: Path) -> Path:
    """caller.xml with one RFC 2833 pcap per key press at its DTMF marker (`dtmf_pcap`: each
    press its own RTP timestamp); a comma separates the answers to successive prompts (`delay`
    s before each group, as switchsim's `dtmf_delay`)."""
    steps: list[str] = []
    presses = 0
    for group in (g for g in dtmf.split(",") if g):
        steps.append(f'<pause milliseconds="{int(delay * 1000)}"/>')
        for digit in group:
            pcap = dtmf_pcap(digit, presses, directory)
            presses += 1
            steps.append(f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
            steps.append('<pause milliseconds="400"/>')  # a digit's events take ~250 ms
    text = (SIPP_DIR / "caller.xml").read_text()
    assert DTMF_MARKER in text
    path = directory / f"caller-{abs(hash(dtmf))}.xml"
    path.write_text(text.replace(DTMF_MARKER, "\n  ".join(steps)))
    return path


class FreeswitchBackend(Backend):
    """A real FreeSWITCH configured from freeswitch_conf/: the lane runs the web (its
    mod_xml_curl endpoint) and icm against it; phones, callers and far ends are sipp."""

    kind = "freeswitch"

    def __init__(self, config: FreeswitchConfig, work_dir: Path) -> None:
        if subprocess.run(["which", "sipp"], capture_output=True).returncode != 0:
            pytest.skip("sipp is not installed (apt-get install sip-tester)")
        self.cfg = config
        self.work_dir = work_dir
        self.switch = os.environ.get("IPBX_CONFORMANCE_SWITCH_NAME", f"c{uuidlib.uuid4().hex[:8]}")
        self.phones: dict[str, tuple[str, int]] = {}  # ext → (behaviour, UAS port)
        self.uas: dict[str, Sipp] = {}
        self.others: list[Sipp] = []
        self.web: Proc | None = None
        self.icm_env: dict[str, str] = {}

    # the processes the lane owns -------------------------------------------------------
    def _icm_proc(self) -> Proc:
        return start_icm(
            self.switch,
            self.cfg.esl_port,
            self.cfg.icm_outbound_port,
            FREESWITCH_ESL_HOST=self.cfg.esl_host,
            FREESWITCH_ESL_PASSWORD=self.cfg.esl_password,
            FREESWITCH_ESL_ACL=os.environ.get(
                "IPBX_CONFORMANCE_ESL_ACL", f"{self.cfg.esl_host}/32"
            ),
            ICM_OUTBOUND_HOST=self.cfg.local_ip,
            FREESWITCH_ESL_HEARTBEAT_TIMEOUT="30",
            **self.icm_env,
        )

    def start(self, **icm_env: str) -> None:
        from icm.models import Site

        self.icm_env = icm_env
        # the switch asks the directory for users of its own domain
        Site.objects.all().update(sip_domain=self.cfg.domain)
        url = urlsplit(self.cfg.web_url)
        # settings.test fixes XML_CURL_SECRET to "test-xml-curl-secret": the test switch's
        # ipbx_xml_curl_password (docs/conformance.md)
        web_env = base_env(
            XML_CURL_ALLOWED_ADDRESSES=os.environ.get(
                "IPBX_CONFORMANCE_SWITCH_ADDRESSES", f"{self.cfg.esl_host},127.0.0.1,::1"
            ),
            # the public dialplan sends inbound calls to this icm
            ICM_OUTBOUND_HOST=self.cfg.local_ip,
            ICM_OUTBOUND_PORT=str(self.cfg.icm_outbound_port),
        )
        args = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "0.0.0.0",
            "-p",
            str(url.port or 80),
            "ipbx_project.asgi:application",
        ]
        self.web = Proc("web", args, web_env, LOG_DIR / f"web-{self.switch}.log").start()
        wait_for_port(url.port or 80)
        self.api("hupall NORMAL_CLEARING")  # nothing left over from an earlier run
        self.icm = self._icm_proc()
        self.icm.wait_log(f"switch {self.switch} connected", timeout=30)

    def restart_icm(self) -> None:
        self.icm.crash()
        self.icm = self._icm_proc()

    def restart_switch(self) -> None:
        if not self.cfg.restart_cmd:
            pytest.skip("set IPBX_CONFORMANCE_RESTART_CMD to restart the real switch")
        # an operator's command line (systemctl …; several steps): a shell runs it
        subprocess.run(["/bin/sh", "-c", self.cfg.restart_cmd], check=True, timeout=120)
        wait_until(self._esl_up, timeout=120, interval=1, what="FreeSWITCH's ESL back")
        wait_until(
            lambda: "internal" in self.api("sofia status"),
            timeout=60,
            interval=1,
            what="the internal profile up",
        )
        for ext, (behaviour, _) in list(self.phones.items()):
            self.register_phone(ext, behaviour)

    def _esl_up(self) -> bool:
        try:
            self.esl().close()
            return True
        except OSError:
            return False

    def close(self) -> None:
        for sipp in [*self.uas.values(), *self.others]:
            sipp.stop()
        for proc in (getattr(self, "icm", None), self.web):
            if proc is not None:
                proc.stop()

    # the world: phones, callers, far ends ------------------------------------------------
    def register_phone(self, ext: str, behaviour: str) -> None:
        kind, _, delay = behaviour.partition(":")
        scenario = {
            "answer": "phone_answer.xml",
            "noanswer": "phone_noanswer.xml",
            "busy": "phone_busy.xml",
        }[kind]
        port = self.phones.get(ext, ("", 0))[1] or udp_port()
        if ext in self.uas:
            self.uas.pop(ext).stop()
        args = [
            "-sf",
            str(SIPP_DIR / scenario),
            "-i",
            self.cfg.local_ip,
            "-p",
            str(port),
            "-mp",
            str(udp_port()),
            "-aa",
        ]
        if kind == "answer":
            args += ["-d", str(int(float(delay or "0.2") * 1000))]
        self.uas[ext] = Sipp(f"phone-{ext}", args).start()
        self.phones[ext] = (behaviour, port)
        self._register(ext, port, "3600")
        wait_until(
            lambda: ext in self.api("show registrations"),
            timeout=10,
            what=f"{ext} in the switch's registrations",
        )

    def _register(self, ext: str, port: int, expires: str) -> None:
        """A sipp REGISTER (digest auth) for `ext` whose Contact is the phone UAS's `port`;
        expires 0 signs it off."""
        from icm.models import Extension

        password = Extension.objects.get(number=ext).password
        host, sip_port = self.cfg.internal
        reg = Sipp(
            f"register-{ext}",
            [
                "-sf",
                str(SIPP_DIR / "register.xml"),
                "-i",
                self.cfg.local_ip,
                "-p",
                str(udp_port()),
                "-s",
                ext,
                "-au",
                ext,
                "-ap",
                password,
                "-key",
                "domain",
                self.cfg.domain,
                "-key",
                "contact_port",
                str(port),
                "-key",
                "expires",
                expires,
                "-m",
                "1",
                "-timeout",
                "15s",
                f"{host}:{sip_port}",
            ],
        ).start()
        assert reg.wait(20) == 0, f"{ext} could not (un)register; see {reg.log_path}"

    def unregister_phone(self, ext: str) -> None:
        self._register(ext, self.phones[ext][1], "0")
        wait_until(
            lambda: f"\n{ext}," not in self.api("show registrations"),
            timeout=10,
            what=f"{ext} gone from the switch's registrations",
        )

    def call_in(
        self,
        ani: str,
        dnis: str,
        talk: float = 600,
        patience: float | None = None,
        dtmf: str = "",
        dtmf_delay: float = 1.5,
    ) -> str:
        scenario = caller_scenario(dtmf, dtmf_delay, self.work_dir)
        talk = min(talk, patience) if patience is not None else talk
        host, port = self.cfg.external
        caller = Sipp(
            f"caller-{ani}",
            [
                "-sf",
                str(scenario),
                "-i",
                self.cfg.local_ip,
                "-p",
                str(udp_port()),
                "-mp",
                str(udp_port()),
                "-s",
                dnis,
                "-key",
                "ani",
                ani,
                "-recv_timeout",
                str(int(talk * 1000)),
                "-m",
                "1",
                f"{host}:{port}",
            ],
        ).start()
        self.others.append(caller)

        def customer() -> str:
            rows = json.loads(self.api("show channels as json")).get("rows") or []
            return next(
                (
                    r["uuid"]
                    for r in rows
                    if r.get("cid_num") == ani and r.get("direction") == "inbound"
                ),
                "",
            )

        return wait_until(customer, timeout=15, what=f"the call from {ani} on the switch")

    def far_end_outcomes(self, number: str, outcomes: str, ring: float = 0.3) -> None:
        pytest.skip("the lane's far end (one sipp UAS) answers every dial: no scripted outcomes")

    def dial_from_phone(self, ext: str, number: str) -> str:
        pytest.skip("the lane's sipp phones answer; none places a call through the switch yet")

    def far_end(self, number: str, ring: float = 0.2, talk: float = 1.5) -> None:
        # one UAS answers every number the gateway "carrier" sends it (ring is its 200 ms)
        if self.cfg.carrier is None:
            pytest.skip("set IPBX_CONFORMANCE_CARRIER=host:port (the gateway carrier's proxy)")
        if any(s.name == "far-end" for s in self.others):
            return
        host, port = self.cfg.carrier
        self.others.append(
            Sipp(
                "far-end",
                [
                    "-sf",
                    str(SIPP_DIR / "far_end.xml"),
                    "-i",
                    host,
                    "-p",
                    str(port),
                    "-mp",
                    str(udp_port()),
                    "-recv_timeout",
                    str(int(talk * 1000)),
                    "-aa",
                ],
            ).start()
        )
        time.sleep(0.3)

    def esl(self) -> EslClient:
        return EslClient(self.cfg.esl_host, self.cfg.esl_port, self.cfg.esl_password)

    def events(self, names: str) -> EventCollector:
        return EventCollector(self.cfg.esl_host, self.cfg.esl_port, names, self.cfg.esl_password)

    def recordings_dir(self, tmp_path: Path) -> Path:
        if self.cfg.recordings:
            return Path(self.cfg.recordings)
        tmp_path.chmod(0o777)  # the switch may run as another user on this host
        return tmp_path
