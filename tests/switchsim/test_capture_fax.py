"""Fidelity: mod_spandsp's txfax / rxfax between the two legs of a loopback call (capture
fax.txt and its json twin fax-json.txt).

The capture's originated leg runs ``txfax`` of a 2-page TIFF, extension 9210 ``rxfax``. The
replay sends the same commands (the TIFF path points at a 2-page TIFF written by switchsim's
own writer) to a switchsim whose fax timeline runs 20 times faster; every channel's events
must match the capture's, names in order then header names; the spandsp events' values
(rate, ECM, station ids, resolution, encoding, pages, result) and the ``fax_*`` variables
on CHANNEL_HANGUP_COMPLETE must be the captured ones; the received TIFF must hold both pages.
Failures: a missing file, nobody to talk to, a hang-up in the middle."""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchsim.fax import tiff_info, write_tiff
from tests.switchsim.captures import (
    Event,
    compare_channels,
    drive,
    expected_replies,
    got_replies,
    sent,
    transcript,
)
from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import RawESL

CAPTURE = "fax.txt"
TWIN = "fax-json.txt"
CAPTURED_TIFF = "/var/lib/freeswitch/storage/fax/fax2p.tif"
SCALE = 0.05  # 2 pages: about 1 s instead of 19

NOT_SIMULATED = {
    "API": "fired for every api command; nothing in the project reads them",
    "CODEC": "no codec negotiation is simulated (spandsp switches the legs to L16)",
    "CALL_UPDATE": "no display updates are simulated",
    "RE_SCHEDULE": "core scheduler housekeeping",
    "HEARTBEAT": "timed, not part of the scenario",
    "BACKGROUND_JOB": "compared as a reply (its body) below",
    "CHANNEL_UUID": "switchsim gives an originated leg its origination_uuid from the start",
    "CHANNEL_OUTGOING": "switchsim fires it for SIP legs only (a loopback a-leg has one too)",
}
IGNORE = {
    "variable_loopback_initial_codec": "switchsim keeps origination variables it does not use",
}


def _key(e: Event) -> str:
    h = dict(e)
    name = h.get("Event-Name", "")
    return f"CUSTOM {h.get('Event-Subclass')}" if name == "CUSTOM" else name


def _state(e: Event) -> str:
    """The state a CHANNEL_STATE event announces ('' for other events)."""
    return dict(e).get("Channel-State", "") if _key(e) == "CHANNEL_STATE" else ""


def _scenario(events: list[Event]) -> list[Event]:
    """The simulated events; the a leg's start put in one order: on FreeSWITCH 9210 answered
    it before its state machine reached CS_CONSUME_MEDIA (CHANNEL_ORIGINATE came after the
    answer), a race switchsim does not reproduce."""
    kept = [e for e in events if _key(e) not in NOT_SIMULATED]
    a_leg = [e for e in kept if dict(e).get("Channel-Name") == "loopback/9210-a"]
    first_app = next(i for i, e in enumerate(a_leg) if _key(e) == "CHANNEL_EXECUTE")
    prelude = [e for e in a_leg[:first_app] if _state(e) != "CS_CONSUME_MEDIA"]
    prelude.sort(key=lambda e: (_key(e), _state(e)))
    others = [e for e in kept if dict(e).get("Channel-Name") != "loopback/9210-a"]
    return prelude + a_leg[first_app:] + others


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(
        ["--heartbeat-interval", "600", "--fax-time-scale", str(SCALE)],
        tmp_path_factory.mktemp("fax"),
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def tiff(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faxdoc") / "fax2p.tif"
    write_tiff(path, 2)
    return path


def _plan(tiff: Path) -> list[str]:
    return [c.replace(CAPTURED_TIFF, str(tiff)) for c in sent(CAPTURE)]


def _twin_listener(sim: SwitchSim, out: list[Event], stop: threading.Event) -> RawESL:
    """The json twin's connection: its `event json …` subscription, collecting events."""
    esl = sim.authed()
    esl.pending = []
    subscribe = [c for c, _, _ in transcript(TWIN) if c.startswith("event json")][0]
    assert esl.command(subscribe).headers["Reply-Text"].startswith("+OK")

    def pump() -> None:
        esl.sock.settimeout(0.2)
        while not stop.is_set():
            try:
                frame = esl.read_frame()
            except TimeoutError:
                continue
            except (ConnectionError, OSError):
                return
            if frame.content_type == "text/event-json":
                out.append(frame.event())

    threading.Thread(target=pump, daemon=True).start()
    return esl


@pytest.fixture(scope="module")
def run(sim: SwitchSim, tiff: Path) -> tuple[list, list, list]:
    twin: list[Event] = []
    stop = threading.Event()
    listener = _twin_listener(sim, twin, stop)
    esl = sim.raw()
    esl.pending = []
    assert esl.auth().headers["Reply-Text"] == "+OK accepted"
    plan = _plan(tiff)
    replies, events = drive(esl, plan[:2])
    # the fax runs after the originate's reply: read on until both legs are gone
    gone = [sum(1 for e in events if _key(e) == "CHANNEL_DESTROY")]

    def both_gone(frame) -> bool:
        if frame.content_type == "text/event-plain":
            events.append(frame.event())
            gone[0] += _key(events[-1]) == "CHANNEL_DESTROY"
        return gone[0] >= 2

    if gone[0] < 2:
        esl.events_until(both_gone, timeout=15)
    r2, e2 = drive(esl, plan[2:])
    replies += r2
    events += e2
    esl.close()
    time.sleep(0.3)
    stop.set()
    listener.close()
    return replies, events, twin


def _custom(events: list[Event], subclass: str) -> list[dict[str, str]]:
    return [dict(e) for e in events if dict(e).get("Event-Subclass") == subclass]


def test_channel_events_match_event_for_event(run: tuple[list, list, list]) -> None:
    _, events, _ = run
    expected = _scenario([e for _, _, evs in transcript(CAPTURE) for e in evs])
    problems = compare_channels(expected, _scenario(events), IGNORE)
    assert not problems, "\n".join(problems)


def test_api_replies_match(run: tuple[list, list, list]) -> None:
    replies, _, _ = run
    expected = expected_replies(CAPTURE)
    got = got_replies(replies)
    strip = [(c.split("}")[0], t) for c, t in got]
    assert [(c.split("}")[0], t) for c, t in expected] == strip


def test_json_twin_matches(run: tuple[list, list, list]) -> None:
    """The second connection's `event json …` events: the same events, header names, and
    values not URL-encoded (a station id with a space stays as is)."""
    _, _, twin = run
    expected = [e for _, _, evs in transcript(TWIN) for e in evs]
    problems = compare_channels(expected, twin, IGNORE)
    assert not problems, "\n".join(problems)
    negotiated = _custom(twin, "spandsp::rxfaxnegociateresult")[0]
    assert negotiated["variable_fax_filename"].endswith(".tif")
    assert "%" not in negotiated["variable_fax_filename"]


def test_spandsp_event_values_are_the_captured_ones(run: tuple[list, list, list]) -> None:
    _, events, _ = run
    for side, local, remote in (("tx", "5551111", "5552222"), ("rx", "5552222", "5551111")):
        (neg,) = _custom(events, f"spandsp::{side}faxnegociateresult")
        assert neg["fax-transfer-rate"] == "14400"
        assert neg["fax-ecm-used"] == "on"
        assert neg["fax-t38-status"] == "off"
        assert (neg["fax-local-station-id"], neg["fax-remote-station-id"]) == (local, remote)
        pages = _custom(events, f"spandsp::{side}faxpageresult")
        assert [p["fax-document-transferred-pages"] for p in pages] == ["1", "2"]
        for p in pages:
            assert p["fax-image-resolution"] == "8040x7700"
            assert p["fax-image-pixel-size"] == "1728x2200"
            assert p["fax-encoding-name"] == "T.85(L0)"
        (result,) = _custom(events, f"spandsp::{side}faxresult")
        assert result["fax-success"] == "1"
        assert result["fax-result-code"] == "0"
        assert result["fax-result-text"] == "OK"
        assert result["fax-document-transferred-pages"] == "2"
        assert result["fax-document-total-pages"] == "2"
    # the sender's file resolution is its TIFF's (204x196 dpi), as spandsp reads it
    assert _custom(events, "spandsp::txfaxpageresult")[0]["fax-file-image-resolution"] == (
        "8031x7716"
    )


def test_hangup_complete_carries_the_fax_variables(run: tuple[list, list, list]) -> None:
    _, events, _ = run
    done = {
        dict(e)["Channel-Name"]: dict(e) for e in events if _key(e) == "CHANNEL_HANGUP_COMPLETE"
    }
    for name, local in (("loopback/9210-a", "5551111"), ("loopback/9210-b", "5552222")):
        h = done[name]
        assert h["variable_fax_success"] == "1"
        assert h["variable_fax_result_code"] == "0"
        assert h["variable_fax_result_text"] == "OK"
        assert h["variable_fax_document_transferred_pages"] == "2"
        assert h["variable_fax_local_station_id"] == local
        assert h["variable_fax_transfer_rate"] == "14400"
        assert h["variable_fax_ecm_used"] == "on"


def test_sender_result_comes_after_both_hangups(run: tuple[list, list, list]) -> None:
    """As captured: the receiver hangs up first; spandsp::txfaxresult follows both legs'
    CHANNEL_HANGUP (still a success), then the txfax app completes."""
    _, events, _ = run
    order = [
        (_key(e), dict(e).get("Channel-Name", ""), dict(e).get("Application", "")) for e in events
    ]
    tx_result = order.index(("CUSTOM spandsp::txfaxresult", "loopback/9210-a", ""))
    assert order.index(("CHANNEL_HANGUP", "loopback/9210-b", "")) < tx_result
    assert order.index(("CHANNEL_HANGUP", "loopback/9210-a", "")) < tx_result
    tx_done = order.index(("CHANNEL_EXECUTE_COMPLETE", "loopback/9210-a", "txfax"))
    assert tx_result < tx_done
    assert dict(events[tx_result])["Answer-State"] == "hangup"


def test_it_takes_time_proportional_to_the_pages(run: tuple[list, list, list]) -> None:
    _, events, _ = run

    def at(subclass: str) -> float:
        return int(_custom(events, subclass)[0]["Event-Date-Timestamp"]) / 1e6

    answered = min(
        int(dict(e)["Event-Date-Timestamp"]) / 1e6 for e in events if _key(e) == "CHANNEL_ANSWER"
    )
    took = at("spandsp::rxfaxresult") - answered
    assert 19.4 * SCALE * 0.9 < took < 19.4 * SCALE + 0.5  # two pages: 19.4 s as captured


def _decode_packbits(data: bytes, size: int) -> bytes:
    out = bytearray()
    i = 0
    while len(out) < size:
        n = data[i]
        i += 1
        if n < 128:
            out += data[i : i + n + 1]
            i += n + 1
        elif n > 128:
            out += bytes([data[i]]) * (257 - n)
            i += 1
    return bytes(out)


def test_received_tiff_has_both_pages(run: tuple[list, list, list], sim: SwitchSim) -> None:
    _, events, _ = run
    (rx,) = _custom(events, "spandsp::rxfaxresult")
    path = sim.recordings / rx["variable_fax_filename"]
    data = path.read_bytes()
    assert data[:4] == b"II*\x00"
    info = tiff_info(path)
    assert info is not None
    assert (info.pages, info.width, info.length) == (2, 1728, 2200)
    # every page decodes to 1728 x 2200 one-bit pixels
    offset = struct.unpack("<I", data[4:8])[0]
    pages = 0
    while offset:
        (count,) = struct.unpack("<H", data[offset : offset + 2])
        tags = {}
        for i in range(count):
            tag, kind, _n, value = struct.unpack("<HHII", data[offset + 2 + 12 * i :][:12])
            tags[tag] = value & 0xFFFF if kind == 3 else value
        assert tags[259] == 32773
        strip = data[tags[273] : tags[273] + tags[279]]
        assert len(_decode_packbits(strip, 216 * 2200)) == 216 * 2200
        pages += 1
        (offset,) = struct.unpack("<I", data[offset + 2 + 12 * count :][:4])
    assert pages == 2


# -- failures -------------------------------------------------------------------------------
def _wait_events(esl: RawESL, until, timeout: float = 8.0) -> list[dict[str, str]]:
    got = [f.event_dict() for f in esl.pending if f.content_type == "text/event-plain"]
    esl.pending.clear()
    deadline = time.monotonic() + timeout
    esl.sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            frame = esl.read_frame()
        except TimeoutError:
            continue
        if frame.content_type == "text/event-plain":
            got.append(frame.event_dict())
            if until(got):
                break
    esl.sock.settimeout(5.0)
    return got


def _listen(sim: SwitchSim) -> RawESL:
    esl = sim.authed()
    esl.pending = []
    esl.command(
        "event plain CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP_COMPLETE CUSTOM "
        "spandsp::txfaxnegociateresult spandsp::rxfaxnegociateresult spandsp::txfaxresult "
        "spandsp::rxfaxresult"
    )
    return esl


def test_txfax_of_a_missing_file_fails_at_once(sim: SwitchSim) -> None:
    esl = _listen(sim)
    esl.command("api originate loopback/9199/default &txfax(/nonexistent/fax.tif)")
    got = _wait_events(esl, lambda g: any(e.get("Application") == "txfax" for e in g), timeout=5)
    done = [e for e in got if e.get("Application") == "txfax"][0]
    assert done["Application-Response"] == "Cannot send non-existant fax file"
    assert not [e for e in got if e.get("Event-Name") == "CUSTOM"]
    assert "variable_fax_filename" not in done
    esl.command("api hupall")
    esl.close()


def test_txfax_to_nobody_times_out(sim: SwitchSim, tiff: Path) -> None:
    """9199 answers and parks: nothing speaks T.30; after T0 (60 s, scaled) the sender
    gives up with spandsp's code 2."""
    esl = _listen(sim)
    esl.command(f"api originate loopback/9199/default &txfax({tiff})")
    got = _wait_events(
        esl, lambda g: any(e.get("Event-Subclass") == "spandsp::txfaxresult" for e in g)
    )
    (result,) = [e for e in got if e.get("Event-Subclass") == "spandsp::txfaxresult"]
    assert result["fax-success"] == "0"
    assert result["fax-result-code"] == "2"
    assert result["fax-result-text"] == "Timed out waiting for initial communication"
    assert not [e for e in got if "negociate" in e.get("Event-Subclass", "")]
    esl.command("api hupall")
    esl.close()


def test_hangup_in_the_middle_drops_the_fax(sim: SwitchSim, tiff: Path) -> None:
    esl = _listen(sim)
    reply = esl.command(f"api originate loopback/9210/default &txfax({tiff})").body
    uuid = reply.split()[1]
    _wait_events(
        esl, lambda g: any(e.get("Event-Subclass") == "spandsp::rxfaxnegociateresult" for e in g)
    )
    esl.command(f"api uuid_kill {uuid}")
    got = _wait_events(
        esl, lambda g: sum(e.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE" for e in g) >= 2
    )
    results = {e["Event-Subclass"]: e for e in got if e.get("Event-Name") == "CUSTOM"}
    for side in ("tx", "rx"):
        r = results[f"spandsp::{side}faxresult"]
        assert r["fax-success"] == "0"
        assert r["fax-result-code"] == "49"
        assert r["fax-result-text"] == "The call dropped prematurely"
        assert r["fax-document-transferred-pages"] == "0"
    esl.close()


def test_a_fax_machine_far_end_sends_its_pages(sim: SwitchSim) -> None:
    """``sim_far_end … fax``: the number dialled through a gateway is a fax machine; rxfax
    on that leg receives ${sim_fax_pages} pages from it."""
    esl = _listen(sim)
    assert esl.command("api sim_far_end 5557 fax=1 ring=0.1 talk=60").body.startswith("+OK")
    esl.command(
        "api originate {sim_fax_pages=3,sim_fax_ident=5557000,fax_ident=5552222}"
        "sofia/gateway/gw/5557001 &rxfax(fax/from-machine.tif)"
    )
    got = _wait_events(
        esl, lambda g: any(e.get("Event-Subclass") == "spandsp::rxfaxresult" for e in g)
    )
    (result,) = [e for e in got if e.get("Event-Subclass") == "spandsp::rxfaxresult"]
    assert result["fax-success"] == "1"
    assert result["fax-document-transferred-pages"] == "3"
    assert result["fax-remote-station-id"] == "5557000"
    info = tiff_info(sim.recordings / "fax" / "from-machine.tif")
    assert info is not None and info.pages == 3
    esl.command("api sim_far_end clear")
    esl.command("api hupall")
    esl.close()
