"""`verify_action` (Zulip's discipline) for the live-event protocol, on icm + switchsim:
for each desktop and wallboard action, the snapshot before it plus the events it produced —
filtered as the sockets filter them (`agents.desktop.is_mine` / `as_desktop_frame`,
`supervision.wallboard.for_wallboard`), placed by the consumers' `SeqTracker` and applied by
the pages' own reducer (`icm/static/icm/live_stream.js`, run under node) — equals a fresh
snapshot taken after it."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from agents import desktop
from agents.models import Agent
from icm.bus import keys
from icm.bus.events import parse_event
from icm.daemon.supervision.live_figures import UNCOMPARED
from icm.live_socket import GAP, NEXT, SeqTracker
from icm.models import Queue, Switch
from supervision import bulletins, wallboard
from supervision.scope import scope_of
from switchsim.wav import write_wav
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for, support_calls_reach_agent1
from voicemail import actions as voicemail_actions
from voicemail import filing as voicemail_filing

ROOT = Path(__file__).resolve().parents[2]
APPLY = """
const {applyFrame} = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const changes = input.frames.map((f) => applyFrame(input.view, input.state, f));
process.stdout.write(JSON.stringify({state: input.state, changes}));
"""


def apply_js(view: str, state: dict[str, Any], frames: list[dict[str, Any]]) -> dict[str, Any]:
    """The page's reducer (the file the pages load) applied to `state`, frame by frame."""
    out = subprocess.run(
        ["node", "-e", APPLY, str(ROOT / "icm/static/icm/live_stream.js")],
        input=json.dumps({"view": view, "state": state, "frames": frames}),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(out.stdout)


def _without_clock(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in UNCOMPARED}


def desktop_view(snap: dict[str, Any]) -> dict[str, Any]:
    """What events keep up to date on the desktop (history, call-backs and my customers
    come with the fresh snapshot the page asks for: see `refresh`)."""
    return {
        "state": snap["state"],
        "calls": snap["calls"],
        "connected": snap["connected"],
        "queues": [_without_clock(q) for q in snap["queues"]],
        "bulletins": snap["bulletins"],
        "voicemail": snap["voicemail"],
    }


def wallboard_view(snap: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in snap.items() if k not in ("server_time", "wseq", "seq")}
    view["queues"] = [_without_clock(q) for q in snap["queues"]]
    view["alarms"] = sorted(snap["alarms"], key=lambda a: a["key"])
    view["gateways"] = sorted(snap["gateways"], key=lambda g: g["name"])
    return view


class Pages:
    """One agent's desktop and one supervisor's wallboard, as their sockets see the bus."""

    def __init__(self, agent: Agent, supervisor: Any, switch: str) -> None:
        self.agent, self.supervisor, self.switch = agent, supervisor, switch
        self.bus = redis.Redis.from_url(settings.REDIS_URL)
        self.pubsub = self.bus.pubsub()
        self.pubsub.subscribe(keys.events_channel(self.bus))
        self.pubsub.get_message(timeout=5)  # the subscription's confirmation
        self.kept: list[dict[str, Any]] = []  # events read past the last fresh snapshot
        self.read_seq = 0

    def snapshots(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return desktop.snapshot_frame(self.agent), wallboard.snapshot(self.supervisor)

    def _read(self, timeout: float) -> dict[str, Any] | None:
        message = self.pubsub.get_message(timeout=timeout)
        if message and message["type"] == "message":
            event = parse_event(message["data"])
            if event is not None and event.get("switch") in (self.switch, None):
                return event
        return None

    def events_until(self, seq: int) -> list[dict[str, Any]]:
        """Every valid bus event up to the switch's `seq` (later ones are kept), with the
        unsequenced ones (bulletins) published so far."""
        events, self.kept = self.kept, []
        time.sleep(0.3)  # an unsequenced event published with the action is delivered
        while (event := self._read(0.05)) is not None:
            events.append(event)
        deadline = time.monotonic() + 15
        while seq > self.read_seq and not any(e.get("seq", 0) >= seq for e in events):
            assert time.monotonic() < deadline, f"no event up to seq {seq}"
            if (event := self._read(1)) is not None:
                events.append(event)
        ends = [i for i, e in enumerate(events) if 0 < e.get("seq", 0) <= seq]
        last = max(ends, default=-1)
        upto = [e for e in events[: last + 1]] + [
            e for e in events[last + 1 :] if not isinstance(e.get("seq"), int)
        ]
        self.kept = [e for e in events[last + 1 :] if isinstance(e.get("seq"), int)]
        self.read_seq = max(self.read_seq, seq)
        return upto

    def verify_action(self, action, settled) -> dict[str, Any]:
        """Run `action`, wait for `settled()`; the events applied to the snapshots before it
        equal the snapshots after it. The events, by type, for the caller's own checks."""
        d0, w0 = self.snapshots()
        action()
        wait_until(settled, timeout=20, what="the action's effect")
        d1, w1 = self.snapshots()
        events = self.events_until(max(d1["seq"][self.switch], w1["seq"][self.switch]))
        login, extension = self.agent.login_id, self.agent.extension.number
        scope = scope_of(self.supervisor)
        d_frames, w_frames = [], []
        for frames, tracker, upto, frame_for in (
            (
                d_frames,
                SeqTracker(d0["seq"]),
                d1["seq"][self.switch],
                lambda e: (
                    desktop.as_desktop_frame(e) if desktop.is_mine(e, login, extension) else None
                ),
            ),
            (
                w_frames,
                SeqTracker(w0["seq"]),
                w1["seq"][self.switch],
                lambda e: wallboard.for_wallboard(e, scope),
            ),
        ):
            for event in events:
                if event.get("seq", 0) > upto:
                    continue  # after this view's fresh snapshot
                place = tracker.place(event)
                assert place != GAP, event  # no reset, no hole in the bus's numbering
                if place == NEXT and (frame := frame_for(event)) is not None:
                    frames.append(frame)
            # the socket followed the switch's numbering up to the fresh snapshot's seq (the
            # page's own `seq` moves only with the frames it receives)
            assert tracker.last[self.switch] == upto
        desk = apply_js("desktop", d0, d_frames)
        assert desktop_view(desk["state"]) == desktop_view(d1)
        # history and customers are not events: the page asks for a fresh snapshot once a
        # contact is over (a call ended, wrap-up) and whenever the agent becomes (not) ready
        if d1["history"] != d0["history"] or d1["customers"] != d0["customers"]:
            if d1["state"]["state"] in ("ready", "not_ready", "wrap_up"):
                assert any(c.get("refresh") for c in desk["changes"])
        board = apply_js("wallboard", w0, w_frames)
        assert wallboard_view(board["state"]) == wallboard_view(w1)
        return {
            "desktop": [f["type"] for f in d_frames],
            "wallboard": [f["type"] for f in w_frames],
        }


@pytest.fixture
def pages(teams, platform_factory):
    site, users = teams
    support_calls_reach_agent1(site, users, "8141")
    Queue.objects.filter(name="support").update(wrap_up_seconds=300)  # ended by the agent
    platform = platform_factory()
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    # the phone rings 3 s: step 4 of the test reads its snapshots while the agent is still
    # reserved, even on a loaded machine (step 5 needs the answer to come after them)
    esl.api("sim_register 1301 answer:3")
    agent = Agent.objects.get(login_id="ag1")
    yield Pages(agent, users["lead1"], platform.switch), platform, esl, users
    esl.api("hupall")
    esl.close()


def _agent_state(p: Pages) -> dict[str, Any]:
    raw = p.bus.hget(keys.agents_key(p.switch), "ag1")
    return json.loads(raw) if raw else {}


def _state_is(p: Pages, state: str, reason: str | None = None):
    def check() -> bool:
        now = _agent_state(p)
        return now.get("state") == state and (reason is None or now.get("reason") == reason)

    return check


def test_desktop_and_wallboard_actions_verify(pages, tmp_path):
    p, platform, esl, users = pages
    agent = client_for(users["agent1"])

    def set_state(state: str, **more: str):
        def run() -> None:
            body = {"state": state, "switch": p.switch, **more}
            r = agent.post("/api/agents/ag1/state/", body, format="json")
            assert r.status_code == 200, r.content

        return run

    # 1. sign in
    seen = p.verify_action(set_state("login"), _state_is(p, "ready"))
    assert "agent.state" in seen["desktop"] and "agent.state" in seen["wallboard"]
    # 2. not ready with a reason
    seen = p.verify_action(
        set_state("not_ready", reason="meeting"), _state_is(p, "not_ready", "meeting")
    )
    assert "agent.state" in seen["wallboard"]
    # 3. ready again
    p.verify_action(set_state("ready"), _state_is(p, "ready"))

    # 4. a caller is offered to the agent (the phone rings for 3 s)
    def call() -> None:
        assert esl.api("sim_call 5550141 8141 talk=2").startswith("+OK")

    seen = p.verify_action(call, _state_is(p, "reserved"))
    assert "contact.offered" in seen["desktop"] or "agent.state" in seen["desktop"]
    # 5. the agent's phone answers: on call
    seen = p.verify_action(lambda: None, _state_is(p, "on_call"))
    assert "agent.state" in seen["wallboard"]
    # 6. the caller hangs up: wrap-up, the call leaves the desktop
    seen = p.verify_action(lambda: None, _state_is(p, "wrap_up"))
    assert not p.snapshots()[0]["calls"] or "call.ended" in seen["desktop"]
    # 7. the agent ends its wrap-up
    p.verify_action(set_state("end_wrap_up"), _state_is(p, "ready"))

    # 8. queue figures change: a caller waits while nobody is ready
    p.verify_action(set_state("not_ready", reason="meeting"), _state_is(p, "not_ready"))

    def waiting() -> None:
        assert esl.api("sim_call 5550142 8141 patience=30").startswith("+OK")

    def one_waiting() -> bool:
        raw = p.bus.get(keys.queues_key(p.switch))
        return bool(raw) and json.loads(raw).get("support", {}).get("waiting") == 1

    seen = p.verify_action(waiting, one_waiting)
    assert "queue.stats" in seen["wallboard"] and "queue.stats" in seen["desktop"]

    # 9. a trunk fails: its badge and its alarm; 10. it comes back: the alarm clears
    def alarm(active: bool):
        def check() -> bool:
            raw = p.bus.get(keys.alarms_key(p.switch))
            keys_ = {a["key"] for a in json.loads(raw)} if raw else set()
            return ("gateway:carrier1" in keys_) is active

        return check

    cmd = "sim_gateway carrier1 FAIL_WAIT DOWN 408 Request Timeout"
    seen = p.verify_action(lambda: esl.api(cmd), alarm(True))
    assert {"gateway.state", "alarm"} <= set(seen["wallboard"])
    seen = p.verify_action(lambda: esl.api("sim_gateway carrier1 REGED UP"), alarm(False))
    assert "alarm" in seen["wallboard"]

    # 11. a bulletin reaches the agent's desktop (not sequenced)
    def bulletin() -> None:
        bulletins.send(users["lead1"], "back in five", kind="agent", target="ag1")

    seen = p.verify_action(bulletin, lambda: bool(desktop.snapshot(p.agent)["bulletins"]))
    assert "bulletin" in seen["desktop"]

    # 12. a voicemail reaches the agent's mailbox, then is heard (not sequenced, IVR-7)
    def voicemail_left() -> None:
        write_wav(tmp_path / "message.wav", 2.0)
        box = voicemail_filing.mailbox_for("agent:ag1")
        voicemail_filing.file_message(
            box.id, str(tmp_path / "message.wav"), caller_number="5550177"
        )

    def new_messages(count: int):
        return lambda: desktop.snapshot(p.agent)["voicemail"]["new"] == count

    seen = p.verify_action(voicemail_left, new_messages(1))
    assert "voicemail" in seen["desktop"]
    message = desktop.snapshot(p.agent)["voicemail"]["messages"][0]["id"]
    seen = p.verify_action(
        lambda: voicemail_actions.mark_heard(users["agent1"], message), new_messages(0)
    )
    assert "voicemail" in seen["desktop"]

    # 13. sign out
    p.verify_action(set_state("logout"), _state_is(p, "logged_out"))
