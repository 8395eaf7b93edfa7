"""Recording through icm and switchsim: policies decide which calls are recorded ("only these
numbers", time windows), the agent's leg is recorded in stereo, a paused stretch is absent
from the file, and the catalogue holds what the switch wrote."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import soundfile
from django.conf import settings

from icm.bus.client import get_redis
from icm.bus.commands import CommandError, send_command
from icm.models import Call, Queue, Switch
from recording.catalogue import process_new
from recording.models import Recording, RecordingPolicy
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import (  # noqa: F401 - the fixture
    client_for,
    support_calls_reach_agent1,
    teams,
)


@pytest.fixture
def desk(teams, platform_factory, tmp_path):  # noqa: F811
    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    Queue.objects.filter(name="support").update(wrap_up_seconds=0)

    def start():
        platform = platform_factory(IPBX_RECORDINGS_DIR=str(tmp_path))
        Switch.objects.filter(name=platform.switch).update(site=site)
        esl = platform.control()
        esl.api("sim_register 1301 answer:0.2")
        login = {"state": "login", "switch": platform.switch}
        assert (
            client_for(users["agent1"])
            .post("/api/agents/ag1/state/", login, format="json")
            .status_code
            == 200
        )
        return platform, esl

    return start


def call_ended(ani: str) -> Call:
    return wait_until(
        lambda: Call.objects.filter(ani=ani, ended_at__isnull=False).first(),
        what=f"the call from {ani} over",
        timeout=30,
    )


def test_only_these_numbers_and_time_windows(desk):
    RecordingPolicy.objects.create(name="vip line", only_numbers="5550101\n4420*")
    now = datetime.now(tz=ZoneInfo(settings.TIME_ZONE))
    later = (now + timedelta(hours=3)).time().replace(microsecond=0)
    RecordingPolicy.objects.create(
        name="night shift", window1_start=later, window1_end=(now + timedelta(hours=4)).time()
    )
    platform, esl = desk()
    for ani in ("5550101", "5550102", "442071234567"):
        assert esl.api(f"sim_call {ani} 8131 talk=1").startswith("+OK")
        call_ended(ani)
    recorded = wait_until(
        lambda: (
            list(Recording.objects.order_by("started_at"))
            if Recording.objects.count() >= 2
            else None
        ),
        what="the recordings catalogued",
    )
    assert [r.ani for r in recorded] == ["5550101", "442071234567"]  # not 5550102: no policy
    assert all(r.policy == "policy vip line" for r in recorded)
    assert process_new() == 2
    for r in recorded:
        r.refresh_from_db()
        assert r.status == Recording.Status.READY, r.error
        assert r.agent.login_id == "ag1" and r.queue.name == "support" and r.call is not None
        info = soundfile.info(r.file)
        assert info.channels == 2 and 0.8 <= info.frames / info.samplerate <= 1.6
    esl.close()


def test_a_paused_stretch_is_not_in_the_file(desk):
    RecordingPolicy.objects.create(name="everything")
    platform, esl = desk()
    assert esl.api("sim_call 5550103 8131 talk=600").startswith("+OK")
    bus = get_redis()

    def pause() -> bool:
        try:
            return send_command(
                bus, platform.switch, "agent_call", {"agent": "ag1", "action": "record_pause"}
            )["paused"]
        except CommandError:  # no call (or no recording) yet
            return False

    wait_until(pause, what="the recording running, then paused", timeout=20)

    time.sleep(1.5)
    send_command(bus, platform.switch, "agent_call", {"agent": "ag1", "action": "record_resume"})
    time.sleep(0.6)
    send_command(bus, platform.switch, "agent_call", {"agent": "ag1", "action": "hangup"})
    row = wait_until(lambda: Recording.objects.first(), what="the recording catalogued")
    assert process_new() == 1
    row.refresh_from_db()
    spoken = (row.ended_at - row.started_at).total_seconds() - row.paused_seconds
    assert row.paused_seconds == pytest.approx(1.5, abs=0.2)
    assert row.duration_seconds == pytest.approx(spoken, abs=0.2)
    esl.close()
