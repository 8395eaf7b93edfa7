"""Recordings survive an icm restart (issue 17, defect 4): a recording started before icm is
killed is catalogued — with its agent, numbers and duration — whether the call ends while icm
is down or after it restarted; a RECORD_STOP for a path icm does not know is catalogued from
the event's own headers; a RECORD_STOP delivered twice makes one row."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from icm.daemon.freeswitch.translator import translate
from icm.daemon.recording.recorder import Recorder
from icm.daemon.recording.store import load_active_recordings, write_recordings
from icm.models import Call, CallLeg, Queue, Switch
from recording.catalogue import process_new
from recording.models import LiveRecording, Recording, RecordingPolicy
from recording.unfinished import settle_orphans
from switchsim.wav import write_wav
from tests.fixtures.captures import read_events
from tests.fixtures.processes import start_icm
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import (  # noqa: F401 - the fixture
    client_for,
    support_calls_reach_agent1,
    teams,
)

CAPTURE_DIR = "/var/lib/freeswitch/recordings"


def real_record_stop(**variables: str) -> dict[str, str]:
    """The RECORD_STOP a real FreeSWITCH sent (inbound-plain.txt), with channel variables
    added as icm sets them on an agent's leg."""
    stop = next(h for h in read_events("inbound-plain.txt") if h["Event-Name"] == "RECORD_STOP")
    return {
        **stop,
        "variable_record_ms": "61500",
        "variable_record_seconds": "61",
        **{f"variable_{k}": v for k, v in variables.items()},
    }


def a_recorder(directory: str) -> tuple[Recorder, list[dict]]:
    rows: list[dict] = []
    return Recorder("fs1", lambda line: None, directory, "UTC", rows.append), rows


def test_a_record_stop_icm_did_not_start_is_catalogued_from_its_headers():
    recorder, rows = a_recorder(CAPTURE_DIR)
    stop = real_record_stop(ipbx_agent="ag1", ipbx_queue="support", ipbx_contact="c-1")
    ended = int(stop["Event-Date-Timestamp"]) / 1_000_000
    path = stop["Record-File-Path"]
    facts = translate("fs1", stop).facts  # what the switch adapter reads off the event
    assert recorder.stopped(
        stop["Unique-ID"], path, ended, stop["Record-Completion-Cause"], 61500, facts=facts
    )
    [row] = rows
    assert (row["path"], row["leg_uuid"], row["agent"], row["queue"]) == (
        path,
        stop["Unique-ID"],
        "ag1",
        "support",
    )
    # an originated leg's caller id is flipped ("default"): the caller is its origination number
    assert (row["ani"], row["dnis"]) == ("5551000", "9100")
    assert row["started"] == pytest.approx(ended - 61.5)
    assert row["cause"] == "empty-file" and row["kind"] == "finished"
    # delivered again (a resync can replay it): no second row
    assert not recorder.stopped(stop["Unique-ID"], path, ended, "empty-file", 61500, facts=facts)
    assert len(rows) == 1


def test_a_record_stop_outside_the_recordings_dir_only_if_readable(tmp_path):
    recorder, rows = a_recorder(str(tmp_path / "recordings"))
    elsewhere = tmp_path / "adhoc" / "note.wav"
    assert not recorder.stopped("leg-1", str(elsewhere), time.time(), "success", 1000)
    assert rows == []  # nothing there to catalogue: logged
    elsewhere.parent.mkdir()
    write_wav(elsewhere, 1.0)
    assert recorder.stopped("leg-2", str(elsewhere), time.time(), "success", 1000)
    assert [r["path"] for r in rows] == [str(elsewhere)]
    assert recorder.stopped("leg-3", "relative/x.wav", time.time(), "success", 1000)
    assert rows[-1]["path"] == str(tmp_path / "recordings" / "relative/x.wav")
    # a supervisor's live tap that outlived an icm restart is a listen feed, not a recording
    tap = tmp_path / "recordings" / "live" / "fs1" / "tap-1.wav"
    assert not recorder.stopped("leg-4", str(tap), time.time(), "success", 1000)
    assert len(rows) == 2


def test_a_restored_recording_whose_leg_went_is_finished_at_resync(tmp_path):
    recorder, rows = a_recorder(str(tmp_path))
    start = {
        "path": str(tmp_path / "a.wav"),
        "leg_uuid": "leg-a",
        "call_uuid": "call-a",
        "agent": "ag1",
        "queue": "support",
        "ani": "5550101",
        "dnis": "8131",
        "customer": "",
        "policy": "policy all",
        "format": "pcm",
        "stereo": True,
        "retention_days": None,
        "started": 100.0,
        "paused": 2.0,
        "paused_at": None,
    }
    assert (
        recorder.restore([start, {**start, "path": str(tmp_path / "b.wav"), "leg_uuid": "leg-b"}])
        == 2
    )
    assert recorder.state_of("leg-a") == "recording"
    assert recorder.resynced(["leg-b"], 160.0) == ["ag1"]
    [row] = rows
    assert (row["agent"], row["ani"], row["started"], row["ended"], row["paused"]) == (
        "ag1",
        "5550101",
        100.0,
        160.0,
        2.0,
    )
    assert recorder.state_of("leg-a") == "" and recorder.state_of("leg-b") == "recording"


@pytest.mark.django_db
def test_an_unknown_stop_is_merged_with_its_persisted_start_once(tmp_path, teams):  # noqa: F811
    now = time.time()
    path = str(tmp_path / "fs1" / "call-1.wav")
    write_recordings(
        [
            {
                "kind": "started",
                "switch": "fs1",
                "path": path,
                "call_uuid": "call-1",
                "leg_uuid": "leg-1",
                "agent": "ag1",
                "queue": "support",
                "customer": "",
                "ani": "5550101",
                "dnis": "8131",
                "policy": "policy all",
                "format": "alaw",
                "stereo": True,
                "retention_days": 30,
                "started": now - 60,
            }
        ]
    )
    assert [r["path"] for r in load_active_recordings("fs1")] == [path]
    write_recordings(
        [{"kind": "paused", "switch": "fs1", "path": path, "paused": 0.0, "paused_at": now - 10}]
    )
    recorder, rows = a_recorder(str(tmp_path))  # a new icm: the start is not in its memory
    assert recorder.stopped("leg-1", path, now, "success", 50_000)
    rows.append(dict(rows[0]))  # the same RECORD_STOP seen by the next icm after a resync
    assert write_recordings(rows) == 2
    row = Recording.objects.get()
    assert (row.agent.login_id, row.queue.name, row.ani, row.dnis) == (
        "ag1",
        "support",
        "5550101",
        "8131",
    )
    assert (row.policy, row.format, row.channels, row.retention_days) == (
        "policy all",
        "alaw",
        2,
        30,
    )
    assert row.started_at.timestamp() == pytest.approx(now - 60, abs=0.01)
    assert row.paused_seconds == pytest.approx(10, abs=0.01)  # paused until the end
    assert row.status == Recording.Status.PROCESSING
    assert not LiveRecording.objects.exists() and load_active_recordings("fs1") == []


@pytest.mark.django_db
def test_a_recording_whose_leg_ended_unseen_is_settled_from_the_cdrs(tmp_path, teams):  # noqa: F811
    switch = Switch.objects.create(site=teams[0], name="fs1")
    now = datetime.now(tz=UTC)
    call = Call.objects.create(
        switch=switch,
        call_uuid="call-9",
        direction="inbound",
        ani="5550109",
        dnis="8131",
        created_at=now,
        ended_at=now,
    )
    CallLeg.objects.create(
        call=call,
        switch=switch,
        uuid="leg-9",
        direction="outbound",
        created_at=now - timedelta(minutes=2),
        hungup_at=now,
        hangup_cause="ICM_RESYNC_NOT_ON_SWITCH",
    )
    write_recordings(
        [
            {
                "kind": "started",
                "switch": "fs1",
                "path": str(tmp_path / "9.wav"),
                "call_uuid": "call-9",
                "leg_uuid": "leg-9",
                "agent": "",
                "queue": "",
                "customer": "",
                "ani": "5550109",
                "dnis": "8131",
                "policy": "order",
                "format": "pcm",
                "stereo": False,
                "retention_days": None,
                "started": (now - timedelta(minutes=1)).timestamp(),
            }
        ]
    )
    assert settle_orphans(now) == 0  # within the grace icm's own RECORD_STOP may still come
    assert settle_orphans(now + timedelta(minutes=1)) == 1
    row = Recording.objects.get()
    assert (row.call, row.ani, row.policy, row.channels, row.ended_at) == (
        call,
        "5550109",
        "order",
        1,
        now,
    )
    assert settle_orphans(now + timedelta(minutes=2)) == 0 and Recording.objects.count() == 1


# --- through icm and switchsim: kill -9 icm with a recording running -------------------------
@pytest.fixture
def recorded_call(teams, platform_factory, tmp_path):  # noqa: F811
    """Agent 1 on a recorded call from 5550101 to 8131 (queue support); icm then killed -9."""
    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    Queue.objects.filter(name="support").update(wrap_up_seconds=0)
    RecordingPolicy.objects.create(name="everything")
    platform = platform_factory(IPBX_RECORDINGS_DIR=str(tmp_path))
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    login = {"state": "login", "switch": platform.switch}
    assert (
        client_for(users["agent1"]).post("/api/agents/ag1/state/", login, format="json").status_code
        == 200
    )
    assert esl.api("sim_call 5550101 8131 talk=600").startswith("+OK")
    wait_until(lambda: list(Path(tmp_path).rglob("*.wav")), what="the switch recording the call")
    time.sleep(1.0)  # icm's persister writes every 0.2 s; the file is a second long too
    platform.icm.crash()
    yield platform, esl, tmp_path
    esl.close()


def restart_icm(platform, recordings: Path) -> None:
    platform.icm.stop()
    platform.icm = start_icm(
        platform.switch,
        platform.esl_port,
        platform.outbound_port,
        IPBX_RECORDINGS_DIR=str(recordings),
    )
    connected = f"switch {platform.switch} connected"
    wait_until(lambda: platform.icm.log().count(connected) == 2, what="the new icm connected")


def assert_catalogued(min_seconds: float) -> None:
    row = wait_until(
        lambda: Recording.objects.filter(status="processing").first(),
        what="the recording catalogued",
        timeout=30,
    )
    assert process_new() == 1
    row.refresh_from_db()
    assert row.status == Recording.Status.READY, row.error
    assert row.agent.login_id == "ag1" and row.queue.name == "support"
    assert (row.ani, row.dnis, row.policy) == ("5550101", "8131", "policy everything")
    assert row.duration_seconds >= min_seconds and row.ended_at > row.started_at
    assert Recording.objects.count() == 1


def test_the_call_ends_while_icm_is_down(recorded_call):
    platform, esl, recordings = recorded_call
    time.sleep(1.0)
    assert esl.api("hupall NORMAL_CLEARING").startswith("+OK")  # its RECORD_STOP: nobody hears
    restart_icm(platform, recordings)
    assert_catalogued(min_seconds=1.8)


def test_the_call_ends_after_icm_restarted(recorded_call):
    platform, esl, recordings = recorded_call
    restart_icm(platform, recordings)
    time.sleep(0.5)
    assert esl.api("hupall NORMAL_CLEARING").startswith("+OK")
    assert_catalogued(min_seconds=1.4)
