"""Callers kept through an icm crash (issue 21, finding 2), unit by unit: the place a waiting
caller carries on its channel, the queues' door of a starting icm (both orders of a kept
caller's return and the first resync), the switch told before a bridge that the caller is no
longer kept by icm's socket, and the ESL text of that command."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from icm.daemon.acd import reentry
from icm.daemon.acd.messages import ContactArrived
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.freeswitch.render import UnsafeArgument, Via, render
from icm.daemon.ivr.place import WAITING_MARK, place_mark, returning_contact
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.model import AgentState, Contact, QueuePolicy
from icm.domain.acd.sessions import AgentSession

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
CALLER = "5d1c1d0e-0000-4000-8000-000000000001"
LOST_OFFER = "5d1c1d0e-0000-4000-8000-0000000000aa"


def contact(uuid: str = CALLER, at: float = 50.0, **kw) -> Contact:
    return Contact(contact_id=uuid, queue="q", enqueued_at=at, **kw)


# --- the place on the channel ---------------------------------------------------------------


def test_a_waiting_callers_place_comes_back_from_its_channel() -> None:
    waiting = contact(
        priority=3,
        required_skills={"fr": 4},
        customer_id="C-9",
        last_agent_id="ag7",
        attached={"dnis": "8123", "call_uuid": CALLER, "ivr": {"account": "12"}},
    )
    back = returning_contact(CALLER, "5550100", {WAITING_MARK: place_mark(waiting)})
    assert back is not None
    assert (back.queue, back.enqueued_at, back.priority) == ("q", 50.0, 3)
    assert back.required_skills == {"fr": 4}
    assert (back.customer_id, back.last_agent_id, back.ani) == ("C-9", "ag7", "5550100")
    assert back.attached["ivr"] == {"account": "12"} and back.attached["returned"] is True


def test_a_flow_too_large_to_keep_loses_its_answers_not_the_place() -> None:
    big = contact(attached={"call_uuid": CALLER, "ivr": {"notes": "x" * 20_000}})
    mark = place_mark(big)
    assert len(mark) < 12 * 1024  # what render accepts for a variable's value
    back = returning_contact(CALLER, "", {WAITING_MARK: mark})
    assert back is not None and back.enqueued_at == 50.0 and "ivr" not in back.attached


@pytest.mark.parametrize("raw", ["", "not base64!", base64.b64encode(b"[1, 2]").decode()])
def test_no_or_a_broken_mark_means_the_flow_starts_again(raw: str) -> None:
    assert returning_contact(CALLER, "", {WAITING_MARK: raw}) is None


def test_the_mark_is_plain_json_with_the_arrival_time() -> None:
    data = json.loads(base64.b64decode(place_mark(contact(at=1234.5))))
    assert data["queue"] == "q" and data["at"] == 1234.5


# --- the queues' door of a starting icm -------------------------------------------------


class Rig:
    def __init__(self) -> None:
        self.sent: list[object] = []
        self.posted: list[object] = []
        self.rt = AcdRuntime(
            "sw",
            lambda command: self.sent.append(command) or f"job-{len(self.sent)}",
            self.post,
            lambda change: None,
            lambda done, why: None,
            clock=lambda: 100.0,
        )
        self.rt.configure([QueuePolicy("q")], [("ag1", {}, "1101")])

    def post(self, item: object) -> None:
        self.posted.append(item)
        if isinstance(item, ContactArrived):  # the consumer hands it to the ACD
            self.sent.append(("arrived", item.contact.contact_id))
            self.rt.contact_arrived(item.contact)

    def restart(self) -> None:
        """icm starts again: ag1 was ringing for the dead icm's offer."""
        ringing = AgentSession(
            "ag1", AgentState.RESERVED, 90.0, contact_id=CALLER, queue="q", leg=LOST_OFFER
        )
        self.rt.restore([ringing])

    def first_resync(self, *live: str) -> None:
        self.rt.link_restored(lambda leg, ext: (leg, "") if leg in live else None)


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setattr(reentry, "GRACE", 0.0)
    return Rig()


def test_callers_back_before_the_first_resync_wait_then_enter_oldest_first(rig: Rig) -> None:
    rig.restart()
    assert rig.rt.restoring
    gate = rig.rt.waiting.gate
    second = "5d1c1d0e-0000-4000-8000-000000000002"
    gate.enter(ContactArrived(contact(second, at=60.0)))  # came back first, queued later
    gate.enter(ContactArrived(contact(CALLER, at=50.0)))
    assert gate.holds(CALLER) and rig.posted == []
    rig.first_resync(LOST_OFFER)  # ag1's phone still rings for the lost offer
    assert rig.sent[0] == cmd.HangupLeg(LOST_OFFER, "ORIGINATOR_CANCEL")
    assert not rig.rt.restoring
    assert gate.opened.wait(1)
    arrivals = [item for item in rig.sent if isinstance(item, tuple)]
    assert arrivals == [("arrived", CALLER), ("arrived", second)]
    offers = [c for c in rig.sent if isinstance(c, cmd.OriginateCall)]
    assert len(offers) == 1 and offers[0].variables["ipbx_contact"] == CALLER
    assert rig.sent.index(offers[0]) > 0  # after the lost offer's phone was stopped
    assert not gate.holds(CALLER)


def test_a_caller_back_after_the_queues_opened_enters_at_once(rig: Rig) -> None:
    rig.restart()
    rig.first_resync()  # the lost offer's phone had stopped ringing meanwhile
    assert not any(isinstance(c, cmd.HangupLeg) for c in rig.sent)
    gate = rig.rt.waiting.gate
    assert gate.opened.wait(1)
    gate.enter(ContactArrived(contact()))
    assert rig.sent[0] == ("arrived", CALLER)
    assert isinstance(rig.sent[1], cmd.OriginateCall)  # offered once, to ag1 now ready


def test_a_switch_without_calls_at_the_first_resync_opens_the_queues_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reentry, "GRACE", 3600.0)  # a busy switch would keep them shut
    rig = Rig()
    rig.restart()
    rig.rt.waiting.gate.enter(ContactArrived(contact()))
    rig.rt.link_restored(lambda leg, ext: None, switch_busy=False)
    assert rig.rt.waiting.gate.opened.wait(1)
    assert rig.sent[0] == ("arrived", CALLER)


def test_a_door_no_resync_opens_opens_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reentry, "MAX_SHUT", 0.0)
    posted: list[object] = []
    gate = reentry.ReentryGate(posted.append)
    gate.close()
    gate.enter(ContactArrived(contact()))
    assert gate.opened.wait(1) and len(posted) == 1


def test_an_icm_that_never_restarted_lets_callers_in_at_once() -> None:
    posted: list[object] = []
    gate = reentry.ReentryGate(posted.append)
    gate.enter(ContactArrived(contact()))
    assert len(posted) == 1


# --- a bridged caller is not kept by icm's socket -----------------------------------------


def test_the_caller_is_let_go_by_the_socket_before_it_is_bridged(rig: Rig) -> None:
    rig.rt.apply(rig.rt.acd.login("ag1", 100.0))
    rig.rt.contact_arrived(contact())
    (offer,) = [c for c in rig.sent if isinstance(c, cmd.OriginateCall)]
    rig.rt.on_event(ev.LegAnswered("sw", offer.uuid, NOW))
    keep = rig.sent.index(cmd.KeepIfServerLost(CALLER, False))
    assert rig.sent[keep + 1] == cmd.BridgeLegs(CALLER, offer.uuid)


def test_keep_if_server_lost_is_the_socket_resume_variable() -> None:
    assert render(cmd.KeepIfServerLost(CALLER, True), Via.API) == (
        f"api uuid_setvar {CALLER} socket_resume true"
    )
    assert render(cmd.KeepIfServerLost(CALLER, False), Via.API) == (
        f"api uuid_setvar {CALLER} socket_resume false"
    )
    with pytest.raises(UnsafeArgument):
        render(cmd.KeepIfServerLost(f"{CALLER}\n\napi system", True), Via.API)
