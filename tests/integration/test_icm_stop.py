"""icm stops cleanly while a CDR write is waiting on the database: the write finishes, the
call's end is saved, nothing is logged as failed and the process exits in time."""

from __future__ import annotations

import subprocess
import time

import psycopg

from icm.models import Call, SystemEvent
from tests.fixtures import processes
from tests.fixtures.waiting import wait_until


def test_icm_stopping_during_a_blocked_cdr_write_saves_it_and_exits(platform):
    esl = platform.control()
    reply = esl.api("sim_call 5557001 9199 talk=600")
    assert reply.startswith("+OK"), reply
    uuid = reply.split()[1]
    wait_until(
        lambda: Call.objects.filter(
            switch__name=platform.switch, ani="5557001", answered_at__isnull=False
        ).exists(),
        timeout=20,
        what="the live call's CDR",
    )
    # another session holds the call's row: icm's next upsert of it waits on the lock
    locker = psycopg.connect(processes.test_database_url())
    try:
        locker.execute(
            "SELECT id FROM icm_call WHERE call_uuid = %s FOR UPDATE",
            (Call.objects.get(switch__name=platform.switch, ani="5557001").call_uuid,),
        ).fetchall()
        assert esl.api(f"uuid_kill {uuid}").startswith("+OK")
        time.sleep(1.5)  # the persister is now inside its write, waiting for the row
        platform.icm.popen.terminate()
        time.sleep(1.5)  # icm is stopping meanwhile
    finally:
        locker.rollback()
        locker.close()
    esl.close()
    try:
        code = platform.icm.popen.wait(20)
    except subprocess.TimeoutExpired:
        raise AssertionError("icm did not stop: " + platform.icm.log()[-3000:]) from None
    log = platform.icm.log()
    assert code == 0, log[-3000:]
    assert "CDR write failed" not in log
    assert "Timeout" not in log, log[-3000:]
    call = Call.objects.get(switch__name=platform.switch, ani="5557001")
    assert call.ended_at is not None and call.state == "ended"
    assert SystemEvent.objects.filter(
        switch=platform.switch, kind=SystemEvent.Kind.ICM_STOPPED
    ).exists()
