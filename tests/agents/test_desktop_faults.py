"""The agent desktop through a database or Redis failure (issue 21 findings 1, 4 and 6):

- a wrap-up is saved first, then ended: a database error leaves the agent in wrap-up with
  its note unsaved and a clear answer, and the retry saves it once; a retry after a partial
  success (note saved, ending failed) updates that note instead of adding a second one;
- the command bus (Redis) unreachable: the desktop's command gets an error reply saying so,
  the socket stays up, and nothing is lost (the retry once Redis is back saves the note);
- PostgreSQL dropping the web process's kept connections (a restart): the desktop's next
  command is answered (CONN_HEALTH_CHECKS), not a crash of the socket.

icm is played by a command server on the real bus (`icm.bus.commands.CommandServer`) that
ends the wrap-up in the agent's live state, as icm's ACD does.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import redis
from asgiref.testing import ApplicationCommunicator
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.test import Client
from rest_framework.test import APIClient

from agents import actions
from agents.actions import DesktopRefused, WrapUpNotSaved, check_desktop_command
from agents.models import Agent, AgentStateChange, ContactNote, Disposition
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.commands import CommandError, CommandServer, IcmUnavailable
from tests.fixtures.esl_client import free_port
from tests.fixtures.processes import test_database_url as database_url
from tests.fixtures.waiting import wait_until

CALL = "call-wrap-1"


class FakeIcm:
    """icm's side of `end_wrap_up` on the real command bus: the agent's live state moves to
    ready; `refuse_next` makes the next one fail as a busy icm would."""

    def __init__(self, switch: str) -> None:
        self.switch = switch
        self.bus = redis.Redis.from_url(settings.REDIS_URL)
        self.ended: list[str] = []
        self.refuse_next = 0
        self.server = CommandServer(self.bus, switch, {"end_wrap_up": self.end_wrap_up})
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def end_wrap_up(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.refuse_next:
            self.refuse_next -= 1
            raise CommandError("the switch is busy")
        self.ended.append(args["agent"])
        self.set_state(args["agent"], "ready")
        return {"agent": args["agent"], "state": "ready"}

    def set_state(self, agent: str, state: str, contact: str = "") -> None:
        live = {"agent": agent, "state": state, "since": time.time(), "contact": contact}
        self.bus.hset(keys.agents_key(self.switch), agent, json.dumps(live))

    def state(self, agent: str) -> str:
        return json.loads(self.bus.hget(keys.agents_key(self.switch), agent))["state"]


@pytest.fixture
def icm(transactional_db, settings) -> Iterator[FakeIcm]:
    settings.IPBX_SWITCH_NAME = f"wr{uuid.uuid4().hex[:6]}"  # the agent's switch (no site)
    settings.ICM_COMMAND_REPLY_TIMEOUT = 2.0
    fake = FakeIcm(settings.IPBX_SWITCH_NAME)
    fake.thread.start()
    yield fake
    fake.server.stop()
    fake.thread.join(5)
    fake.bus.delete(keys.agents_key(fake.switch), keys.commands_key(fake.switch))


@pytest.fixture
def agent(icm) -> Agent:
    user = User.objects.create_user("ag1", password="pw")
    agent = Agent.objects.create(login_id="ag1", name="Agent 1", user=user)
    Disposition.objects.create(code="sold", label="Sold")
    icm.set_state("ag1", "wrap_up", contact=CALL)
    return agent


class FailingInserts:
    """A database error on the next `n` inserts of wrap-up notes (an execute wrapper: the
    error comes from where a real one would, the query)."""

    def __init__(self, n: int = 1) -> None:
        self.left = n

    def __call__(self, execute, sql, params, many, context):  # Django's execute wrapper
        if self.left and sql.startswith('INSERT INTO "agents_contactnote"'):
            self.left -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def wrap_up(agent: Agent, notes: str) -> dict[str, Any]:
    return check_desktop_command(
        agent, settings.IPBX_SWITCH_NAME, "wrap_up", {"disposition": "sold", "notes": notes}
    )


def test_a_wrap_up_whose_note_fails_to_save_stays_open_and_its_retry_saves_it_once(icm, agent):
    with connection.execute_wrapper(FailingInserts()):
        with pytest.raises(WrapUpNotSaved, match="still in wrap-up: try again") as refused:
            wrap_up(agent, "wants the gold plan")
        assert isinstance(refused.value, IcmUnavailable)  # HTTP: 503; desktop: error reply
        # nothing ended: the agent is still in wrap-up, its form still open
        assert icm.ended == [] and icm.state("ag1") == "wrap_up"
        assert not ContactNote.objects.exists()
        done = wrap_up(agent, "wants the gold plan")  # the retry is accepted
    assert done["call_uuid"] == CALL
    note = ContactNote.objects.get()
    assert (note.call_uuid, note.disposition.code, note.notes) == (
        CALL,
        "sold",
        "wants the gold plan",
    )
    assert icm.ended == ["ag1"] and icm.state("ag1") == "ready"


def test_a_retry_after_the_note_was_saved_but_the_wrap_up_did_not_end_updates_that_note(icm, agent):
    icm.refuse_next = 1
    with pytest.raises(CommandError, match="notes are saved, but the wrap-up did not end"):
        wrap_up(agent, "first draft")
    assert icm.state("ag1") == "wrap_up"
    assert list(ContactNote.objects.values_list("notes", flat=True)) == ["first draft"]
    wrap_up(agent, "final words")
    assert list(ContactNote.objects.values_list("notes", flat=True)) == ["final words"]
    assert icm.ended == ["ag1"] and icm.state("ag1") == "ready"
    # the next wrap-up of the same contact (it came back to this agent) keeps its own note
    ContactNote.objects.update(at=ContactNote.objects.get().at.replace(year=2020))
    icm.set_state("ag1", "wrap_up", contact=CALL)
    wrap_up(agent, "second call")
    assert sorted(ContactNote.objects.values_list("notes", flat=True)) == [
        "final words",
        "second call",
    ]


def _log_change(agent: Agent, at: float, from_state: str, to_state: str, call: str) -> None:
    """icm's state log (written from its outbox, so it may lag the live state)."""
    AgentStateChange.objects.create(
        agent=agent,
        at=datetime.fromtimestamp(at, tz=UTC),
        from_state=from_state,
        to_state=to_state,
        call_uuid=call,
    )


@pytest.mark.parametrize("log_written", [True, False])
def test_a_wrap_up_its_timer_ended_as_the_agent_pressed_done_still_takes_the_note(
    icm, agent, log_written
):
    """The other order: icm ended the wrap-up (its timer, or an end whose answer was lost)
    just before the agent's Done reached the web. Its note is still saved on that contact,
    once; unless the state log does not show that wrap-up yet (then a note could land on
    an older contact: refused, as before)."""
    now = time.time()
    _log_change(agent, now - 30, "ready", "on_call", "call-older")
    _log_change(agent, now - 20, "on_call", "wrap_up", "call-older")
    _log_change(agent, now - 15, "wrap_up", "ready", "")
    _log_change(agent, now - 10, "ready", "on_call", CALL)
    _log_change(agent, now - 5, "on_call", "wrap_up", CALL)
    icm.set_state("ag1", "ready")  # since: now
    if log_written:
        _log_change(agent, time.time(), "wrap_up", "ready", CALL)
        done = wrap_up(agent, "late but kept")
        assert (done["call_uuid"], done["state"]) == (CALL, "ready")
        wrap_up(agent, "late but kept, twice")  # a retry of it: the same note
        note = ContactNote.objects.get()
        assert (note.call_uuid, note.notes) == (CALL, "late but kept, twice")
    else:
        with pytest.raises(DesktopRefused, match="not in wrap-up"):
            wrap_up(agent, "too early for the log")
        assert not ContactNote.objects.exists()
    assert icm.ended == []  # nothing to end


# --- through the desktop's socket --------------------------------------------------------


class ServedCommunicator(WebsocketCommunicator):
    """A WebSocket client without channels' test shortcut: its communicator turns the
    database clean-up around every consumer call (`close_old_connections`) off; a web
    process (daphne) runs it, so this one does too."""

    async def send_input(self, message: dict[str, Any]) -> None:
        return await ApplicationCommunicator.send_input(self, message)

    async def receive_output(self, timeout: float = 1) -> dict[str, Any]:
        return await ApplicationCommunicator.receive_output(self, timeout)


async def _desktop(session_key: str, served: bool = False) -> WebsocketCommunicator:
    from ipbx_project.routing import websocket_urlpatterns

    app = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    cookie = f"sessionid={session_key}".encode()
    kind = ServedCommunicator if served else WebsocketCommunicator
    ws = kind(app, "/ws/agent/", headers=[(b"cookie", cookie)])
    connected, _ = await ws.connect(timeout=5)
    assert connected
    snapshot = await ws.receive_json_from(timeout=10)
    assert snapshot["type"] == "snapshot"
    return ws


async def _reply(ws: WebsocketCommunicator, request_id: str) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json_from(timeout=10)
        if frame.get("type") == "reply" and frame.get("id") == request_id:
            return frame


def _session_of(user: User) -> str:
    browser = Client()
    browser.force_login(user)
    return browser.session.session_key


def test_the_desktop_says_the_bus_is_down_and_the_retry_saves_the_note(icm, agent):
    """Redis unreachable (a closed port): the wrap-up's reply says so instead of the socket
    failing; nothing is saved or ended; once Redis is back, the same command goes through."""

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        ws = await _desktop(await database_sync_to_async(_session_of)(agent.user))
        command = {"command": "wrap_up", "args": {"disposition": "sold", "notes": "call Tuesday"}}
        real_url = settings.REDIS_URL
        settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
        get_redis.cache_clear()
        try:
            await ws.send_json_to({"id": "1", **command})
            down = await _reply(ws, "1")
        finally:
            settings.REDIS_URL = real_url
            get_redis.cache_clear()
        notes_meanwhile = await database_sync_to_async(ContactNote.objects.count)()
        await ws.send_json_to({"type": "ping"})
        pong = await ws.receive_json_from(timeout=10)
        assert notes_meanwhile == 0
        await ws.send_json_to({"id": "2", **command})
        back = await _reply(ws, "2")
        await ws.disconnect()
        return down, pong, back

    down, pong, back = asyncio.run(scenario())
    assert down["ok"] is False and "command bus is unavailable" in down["detail"]
    assert pong == {"type": "pong"}  # the socket is still up
    assert back["ok"] is True and back["result"]["call_uuid"] == CALL
    assert ContactNote.objects.get().notes == "call Tuesday"
    assert icm.ended == ["ag1"]


def test_the_desktop_tells_the_agent_its_wrap_up_was_not_saved_and_the_retry_saves_it(
    icm, agent, monkeypatch
):
    """What the agent reads on its desktop when the database fails the note's save: still in
    wrap-up, try again; its retry is accepted."""
    real = actions.save_wrap_up_note
    failures = iter([OperationalError("could not connect to server")])

    def save_once_failing(*args: Any, **kwargs: Any) -> ContactNote:
        for exc in failures:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "save_wrap_up_note", save_once_failing)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        ws = await _desktop(await database_sync_to_async(_session_of)(agent.user))
        command = {"command": "wrap_up", "args": {"disposition": "sold", "notes": "renewal"}}
        await ws.send_json_to({"id": "1", **command})
        failed = await _reply(ws, "1")
        await ws.send_json_to({"id": "2", **command})
        saved = await _reply(ws, "2")
        await ws.disconnect()
        return failed, saved

    failed, saved = asyncio.run(scenario())
    assert failed == {
        "type": "reply",
        "id": "1",
        "ok": False,
        "detail": "your wrap-up could not be saved (the database is unavailable); you are "
        "still in wrap-up: try again in a moment",
    }
    assert saved["ok"] is True and saved["result"]["disposition"] == "sold"
    assert ContactNote.objects.get().notes == "renewal"
    assert icm.ended == ["ag1"]


def _drop_connections(keep: set[int]) -> int:
    """What a PostgreSQL restart does to the web process: its connections are closed by the
    server (every one of the test database but `keep`), and gone."""
    with psycopg.connect(database_url(), autocommit=True) as admin:
        keep = keep | {admin.info.backend_pid}
        pids = [
            row[0]
            for row in admin.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND NOT (pid = ANY(%s))",
                [list(keep)],
            ).fetchall()
        ]
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", [pids])
        wait_until(  # a backend ends when it takes the signal, not at once
            lambda: (
                not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
                ).fetchone()
            ),
            what="the dropped connections to end",
        )
    return len(pids)


def test_a_desktop_command_after_the_database_dropped_the_connections_is_answered(icm, agent):
    """The web process keeps a connection per worker thread (conn_max_age): after the
    database closed them, the next command must reconnect, not fail on the dead one."""
    with connection.cursor() as cursor:  # this test's own connection stays
        cursor.execute("SELECT pg_backend_pid()")
        mine = cursor.fetchone()[0]

    async def scenario() -> tuple[int, dict[str, Any], dict[str, Any]]:
        # one worker thread, as a busy web process reuses its threads: its kept connection
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
        ws = await _desktop(await database_sync_to_async(_session_of)(agent.user), served=True)
        dropped = _drop_connections({mine})
        await ws.send_json_to({"id": "1", "command": "read_bulletin", "args": {"id": "999"}})
        answered = await _reply(ws, "1")
        await ws.send_json_to({"id": "2", "command": "wrap_up", "args": {"notes": "after it"}})
        saved = await _reply(ws, "2")
        await ws.disconnect()
        return dropped, answered, saved

    dropped, answered, saved = asyncio.run(scenario())
    assert dropped >= 1  # the socket's worker thread had its connection
    assert answered == {
        "type": "reply",
        "id": "1",
        "ok": False,
        "detail": "no such bulletin for you",
    }
    assert saved["ok"] is True
    assert ContactNote.objects.get().notes == "after it"


def test_the_desktop_s_http_calls_answer_503_while_redis_is_unreachable(icm, agent, settings):
    """The desktop's snapshot and a wrap-up's end over the REST API with the bus down: a 503
    saying what is unavailable (and when to try again), never a 500; nothing changed."""
    browser = APIClient()
    browser.force_authenticate(agent.user)
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    get_redis.cache_clear()
    try:
        snapshot = browser.get("/api/agent/desktop/")
        end = browser.post(
            "/api/agents/ag1/state/",
            {"state": "end_wrap_up", "switch": icm.switch},
            format="json",
        )
    finally:
        get_redis.cache_clear()
    assert snapshot.status_code == 503, snapshot.content
    assert snapshot["Retry-After"] == "5"
    assert snapshot.json() == {
        "detail": "the command bus (Redis) is unavailable: try again in a moment"
    }
    assert end.status_code == 503, end.content
    assert "command bus is unavailable" in end.json()["detail"]
    assert icm.ended == [] and icm.state("ag1") == "wrap_up"
