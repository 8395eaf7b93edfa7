"""The simulated world and the sim_* control api; CLI behaviour."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.switchsim.conftest import ROOT, SwitchSim
from tests.switchsim.eslraw import RawESL


def _names(frames: list, uuid: str) -> list[str]:
    return [
        f.event_dict().get("Event-Name") for f in frames if f.event_dict().get("Unique-ID") == uuid
    ]


def test_sim_call_is_an_inbound_trunk_call_into_public(esl: RawESL) -> None:
    esl.command("event plain CHANNEL_CREATE CHANNEL_HANGUP_COMPLETE")
    uuid = esl.command("api sim_call +15551234567 5678 name=Alice").body.split()[1]
    create = esl.events_until(lambda f: True)[0].event_dict()
    assert create["Unique-ID"] == uuid
    assert create["Call-Direction"] == "inbound"
    assert create["Channel-Name"] == "sofia/external/+15551234567@198.51.100.10"
    assert create["Caller-Context"] == "public"
    assert create["Caller-Caller-ID-Name"] == "Alice"
    assert create["Caller-ANI"] == "+15551234567"
    assert create["Caller-Destination-Number"] == "5678"
    assert create["variable_sip_from_user"] == "+15551234567"
    # nothing in `public` matches 5678: FreeSWITCH hangs up with NO_ROUTE_DESTINATION
    done = esl.events_until(lambda f: f.event_dict().get("Unique-ID") == uuid)[-1].event_dict()
    assert done["Hangup-Cause"] == "NO_ROUTE_DESTINATION"


def test_caller_patience_abandons_and_answer_after(esl: RawESL) -> None:
    esl.command("event plain CHANNEL_ANSWER CHANNEL_HANGUP")
    t0 = time.monotonic()
    uuid = esl.command("api sim_call 5550100 9199 context=default patience=0.5").body.split()[1]
    frames = esl.events_until(
        lambda f: f.event_dict().get("Event-Name") == "CHANNEL_HANGUP", timeout=5
    )
    assert _names(frames, uuid) == ["CHANNEL_ANSWER", "CHANNEL_HANGUP"]
    assert frames[-1].event_dict()["Hangup-Cause"] == "NORMAL_CLEARING"
    assert 0.4 < time.monotonic() - t0 < 3


def test_sim_load_creates_n_complete_calls(esl: RawESL) -> None:
    esl.command("event plain CHANNEL_HANGUP_COMPLETE")
    assert esl.command("api sim_load 200 20").body == "+OK 200 calls\n"
    frames = []
    deadline = time.monotonic() + 20
    while len(frames) < 200 and time.monotonic() < deadline:
        frames += esl.events_until(lambda f: True, timeout=10)
    assert len(frames) == 200
    ev = frames[0].event_dict()
    assert ev["variable_last_app"] == "hangup" and ev["Answer-State"] == "hangup"
    stats = json.loads(esl.command("api sim_stats").body)
    assert stats["events_emitted"] >= 200 * 18


def test_sim_drop_esl_closes_others_without_notice(switchsim: SwitchSim) -> None:
    victim, ctl = switchsim.authed(), switchsim.authed()
    victim.command("event plain HEARTBEAT")
    assert ctl.command("api sim_drop_esl").body.startswith("+OK dropped ")
    victim.sock.settimeout(3)
    data = b""
    try:
        while chunk := victim.sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    assert b"disconnect-notice" not in data
    assert ctl.command("api echo alive").body == "alive"
    ctl.close()


def test_sim_pause_esl_holds_back_everything(switchsim: SwitchSim) -> None:
    paused, ctl = switchsim.authed(), switchsim.authed()
    paused.command("event plain HEARTBEAT CUSTOM sofia::register")
    assert ctl.command("api sim_pause_esl 1.5").body.startswith("+OK paused")
    t0 = time.monotonic()
    ctl.command("api sim_register 1777")
    first = paused.events_until(lambda f: True, timeout=5)[0]
    assert time.monotonic() - t0 >= 1.3
    assert first.event_dict()["Event-Name"] in ("HEARTBEAT", "CUSTOM")
    paused.close()
    ctl.close()


def test_heartbeat_and_sim_stats(esl: RawESL) -> None:
    esl.command("event json HEARTBEAT")
    hb = json.loads(esl.events_until(lambda f: True, timeout=3)[0].body)
    assert hb["Event-Info"] == "System Ready" and "Session-Count" in hb
    stats = json.loads(esl.command("api sim_stats").body)
    assert {"channels_up", "events_emitted", "esl_connections"} <= set(stats)


def test_scenario_traffic_registers_extensions_and_generates_calls(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[[extensions]]\nrange = "2001-2003"\nbehaviour = "answer"\nanswer_delay = [0.1, 0.2]\n'
        '[callers]\npatience = [0.3, 0.5]\n[traffic]\nrate = 20\ndnis = ["9199"]\nmax_calls = 5\n'
    )
    dialplan = tmp_path / "d.toml"
    dialplan.write_text(
        "[[extension]]\ncontext = \"public\"\ndestination = '^(9199)$'\n"
        'actions = ["set ipbx_dnis=$1", "answer", "park"]\n'
    )
    sim = SwitchSim(["--scenario", str(scenario), "--dialplan", str(dialplan)], tmp_path)
    try:
        c = sim.authed()
        regs = c.command("api show registrations").body
        assert all(e in regs for e in ("2001", "2002", "2003"))
        c.command("event plain CHANNEL_HANGUP_COMPLETE")
        done = [c.events_until(lambda f: True, timeout=5)[0].event_dict() for _ in range(5)]
        assert all(d["Caller-Context"] == "public" for d in done)
        assert all(d["variable_ipbx_dnis"] == "9199" for d in done)
        assert all(d["Channel-Name"].startswith("sofia/external/+1555") for d in done)
    finally:
        assert sim.stop() == 0


def test_help_and_sigterm(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "switchsim", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0
    for word in ("--esl-port", "--outbound-socket", "--scenario", "sim_call", "sim_pause_esl"):
        assert word in out.stdout
    sim = SwitchSim(["--demo"], tmp_path)
    c = sim.authed()
    assert "1001" in c.command("api show registrations").body
    sim.proc.send_signal(signal.SIGINT)
    assert sim.proc.wait(5) == 0
    assert any("switchsim listening on 127.0.0.1:" in line for line in sim.log)
