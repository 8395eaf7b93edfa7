"""greenswitch's InboundESL, unchanged, against switchsim: auth, api, bgapi + BACKGROUND_JOB,
event subscription with handlers, sendmsg execute on a channel."""

from __future__ import annotations

import gevent
import gevent.event
import greenswitch
import pytest

from tests.switchsim.conftest import SwitchSim


def connect(sim: SwitchSim, password: str = "ClueCon") -> greenswitch.InboundESL:
    esl = greenswitch.InboundESL("127.0.0.1", sim.port, password)
    esl.connect()
    return esl


def test_wrong_password_is_refused(switchsim: SwitchSim) -> None:
    with pytest.raises(ValueError, match="Invalid password"):
        connect(switchsim, "not-the-password")


def test_api_and_bgapi_with_background_job(switchsim: SwitchSim) -> None:
    esl = connect(switchsim)
    try:
        assert "is ready" in esl.send("api status").data
        jobs: list[dict[str, str]] = []
        done = gevent.event.Event()

        def on_job(event) -> None:
            jobs.append(event.headers)
            done.set()

        esl.register_handle("BACKGROUND_JOB", on_job)
        assert esl.send("event plain BACKGROUND_JOB").data.startswith("+OK")
        reply = esl.send("bgapi uuid_exists 00000000-0000-0000-0000-000000000000")
        assert reply.data.startswith("+OK Job-UUID: ")
        job_uuid = reply.data.split(": ", 1)[1]
        assert done.wait(5)
        assert jobs[0]["Job-UUID"] == job_uuid
        assert jobs[0]["Job-Command"] == "uuid_exists"
    finally:
        esl.stop()


def test_event_handlers_and_sendmsg_execute(switchsim: SwitchSim) -> None:
    esl = connect(switchsim)
    seen: list[tuple[str, str]] = []
    completed = gevent.event.Event()

    def on_event(event) -> None:
        name = event.headers.get("Event-Name", "")
        seen.append((name, event.headers.get("Application", "")))
        if name == "CHANNEL_EXECUTE_COMPLETE" and event.headers.get("Application") == "playback":
            completed.set()

    try:
        for name in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_EXECUTE_COMPLETE"):
            esl.register_handle(name, on_event)
        esl.send("event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_EXECUTE_COMPLETE")
        uuid = esl.send("api originate loopback/9199/default &park()").data.split()[1]
        esl.send(
            f"sendmsg {uuid}\ncall-command: execute\nexecute-app-name: playback\n"
            "execute-app-arg: silence_stream://200"
        )
        assert completed.wait(10), seen
        names = [name for name, _ in seen]
        assert "CHANNEL_CREATE" in names and "CHANNEL_ANSWER" in names
        esl.send(f"api uuid_kill {uuid}")
    finally:
        esl.stop()
