"""Real-switch behaviour: sound files that do not exist (--sounds-dir, FreeSWITCH's sound
prefix) answer FILE NOT FOUND with no PLAYBACK_* events (switch_ivr_play_file returns
NOTFOUND before PLAYBACK_START), and local_stream://moh without files (--moh-dir) does not
exist (mod_local_stream creates no stream) — issue 17, defect 6."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import EventLog, named, parked_leg


def _dirs(root: Path, moh_files: bool) -> tuple[Path, Path]:
    sounds = root / "sounds"
    (sounds / "ivr").mkdir(parents=True)
    (sounds / "ivr" / "present.wav").write_bytes(b"RIFF....WAVE")
    moh = root / "moh"
    moh.mkdir()
    if moh_files:
        (moh / "song.wav").write_bytes(b"RIFF....WAVE")
    (moh / "notes.txt").write_text("not audio")
    return sounds, moh


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    tmp = tmp_path_factory.mktemp("files")
    sounds, moh = _dirs(tmp, moh_files=False)
    s = SwitchSim(
        ["--playback-seconds", "0.2", "--sounds-dir", str(sounds), "--moh-dir", str(moh)], tmp
    )
    s.sounds = sounds  # type: ignore[attr-defined]
    yield s
    s.stop()


@pytest.fixture(scope="module")
def moh_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    tmp = tmp_path_factory.mktemp("moh")
    sounds, moh = _dirs(tmp, moh_files=True)
    s = SwitchSim(
        ["--sounds-dir", str(sounds), "--moh-dir", str(moh), "--local-stream-seconds", "0.2"],
        tmp,
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def plain_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(["--playback-seconds", "0.2"], tmp_path_factory.mktemp("plainfiles"))
    yield s
    s.stop()


def _play(sim: SwitchSim, path: str) -> tuple[str, list[dict[str, str]]]:
    """Play `path` on a new loopback leg (inline playback, then park): the playback's
    Application-Response and the leg's PLAYBACK_START events."""
    log = EventLog(sim.authed())
    try:
        leg = str(uuidlib.uuid4())
        dial = f"{{origination_uuid={leg}}}loopback/9199/default m:^:playback:{path}^park inline"
        assert log.api(f"originate {dial}") == f"+OK {leg}\n"
        log.wait(lambda evs: named(evs, "CHANNEL_PARK", leg))
        done = [
            e
            for e in named(log.events, "CHANNEL_EXECUTE_COMPLETE", leg)
            if e["Application"] == "playback"
        ]
        return done[0]["Application-Response"], named(log.events, "PLAYBACK_START", leg)
    finally:
        log.api("hupall")
        log.close()


@pytest.mark.parametrize("path", ["ivr/welcome.wav", "/nowhere/at/all.wav", "ivr/welcome"])
def test_missing_file_is_not_found_without_playback_events(sim: SwitchSim, path: str) -> None:
    response, starts = _play(sim, path)
    assert response == "FILE NOT FOUND"
    assert starts == []


@pytest.mark.parametrize("path", ["ivr/present.wav", "ivr/present", "tone_stream://%(100,0,440)"])
def test_existing_files_and_streams_play(sim: SwitchSim, path: str) -> None:
    response, starts = _play(sim, path)
    assert response == "FILE PLAYED"
    assert len(starts) == 1


def test_absolute_path_of_an_existing_file_plays(sim: SwitchSim) -> None:
    response, _ = _play(sim, str(sim.sounds / "ivr" / "present.wav"))  # type: ignore[attr-defined]
    assert response == "FILE PLAYED"


def test_moh_without_files_does_not_exist(sim: SwitchSim) -> None:
    response, starts = _play(sim, "local_stream://moh")
    assert (response, starts) == ("FILE NOT FOUND", [])


def test_moh_with_files_plays_and_unknown_streams_do_not(moh_sim: SwitchSim) -> None:
    response, starts = _play(moh_sim, "local_stream://moh")
    assert response == "FILE PLAYED" and len(starts) == 1
    assert _play(moh_sim, "local_stream://jazz")[0] == "FILE NOT FOUND"


def test_without_sounds_dir_every_file_exists(plain_sim: SwitchSim) -> None:
    assert _play(plain_sim, "ivr/welcome.wav")[0] == "FILE PLAYED"
    assert _play(plain_sim, "local_stream://moh")[0] == "FILE PLAYED"


def test_broadcast_of_a_missing_file(sim: SwitchSim) -> None:
    log = EventLog(sim.authed())
    try:
        leg = parked_leg(log)
        assert log.api(f"uuid_broadcast {leg} ivr/welcome.wav aleg") == "+OK Message sent\n"
        done = log.wait(lambda evs: named(evs, "CHANNEL_EXECUTE_COMPLETE", leg))
        assert done[0]["Application"] == "playback"
        assert done[0]["Application-Response"] == "FILE NOT FOUND"
        assert not named(log.events, "PLAYBACK_START", leg)
    finally:
        log.api("hupall")
        log.close()


def test_play_and_get_digits_with_a_missing_prompt_collects_nothing(sim: SwitchSim) -> None:
    """switch_ivr_read gives up before collecting: digits pressed are not taken and
    read_result is never set; the invalid-entry file is played after each try."""
    log = EventLog(sim.authed())
    try:
        leg = parked_leg(log)
        assert log.api(f"uuid_recv_dtmf {leg} 4").startswith("+OK")
        args = "1 1 2 2000 # ivr/menu.wav tone_stream://%(100,0,440) choice \\d"
        reply = log.esl.command(
            f"sendmsg {leg}\ncall-command: execute\nexecute-app-name: play_and_get_digits\n"
            f"execute-app-arg: {args}"
        )
        assert reply.headers["Reply-Text"] == "+OK"
        done = log.wait(lambda evs: named(evs, "CHANNEL_EXECUTE_COMPLETE", leg), timeout=3)
        assert done[0]["Application"] == "play_and_get_digits"
        plays = named(log.events, "PLAYBACK_START", leg)
        assert [e["Playback-File-Path"] for e in plays] == ["tone_stream://%(100,0,440)"] * 2
        assert log.api(f"uuid_getvar {leg} read_result") == "_undef_"
        assert log.api(f"uuid_getvar {leg} choice") == "_undef_"
    finally:
        log.api("hupall")
        log.close()
