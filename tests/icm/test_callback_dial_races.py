"""A booked call-back's customer dial (issue 20 item 3) when the originate job's reply and
the leg's own events come in either order: the leg's events decide. A real FreeSWITCH answers
`-ERR ORIGINATOR_CANCEL` for a leg icm bridged before the job returned; with events
delivered late that reply may even come before the leg was seen. Any other refusal of a leg
never shown (a gateway down) ends the attempt at once and frees the agent."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest

from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.callbacks.booked import BookedCallbacks, CallbackRing
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.model import QueuePolicy

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


class Rig:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []
        self.seen: set[str] = set()  # legs the live model knows (CHANNEL_CREATE seen)
        self.outcomes: list[tuple] = []
        jobs = count(1)

        def bgapi(command: object) -> str:
            job = f"job-{next(jobs)}"
            self.sent.append((job, command))
            return job

        self.rt = AcdRuntime(
            "sw",
            bgapi,
            lambda item: None,
            lambda change: None,
            lambda done, why: None,
            leg_channel=lambda leg: "sofia/gateway/carrier/5550101" if leg in self.seen else "",
            intercept_leg_failed=lambda leg, cause: self.booked.leg_failed(leg, cause),
            load_gateway=lambda: "carrier",
            clock=lambda: 100.0,
        )
        self.rt.configure([QueuePolicy("q")], [("ag1", {}, "1101")])
        self.rt.apply(self.rt.acd.login("ag1", 100.0))
        self.booked = BookedCallbacks(
            "sw", self.rt, lambda *o: self.outcomes.append(o[:4]), clock=lambda: 100.0
        )

    def event(self, event: ev.DomainEvent) -> None:
        """As icm's live model hands a leg's event to the features, then the ACD."""
        if not self.booked.on_event(event):
            self.rt.on_event(event)

    def originate(self, endpoint_part: str) -> tuple[str, cmd.OriginateCall]:
        return next(
            (job, c)
            for job, c in self.sent
            if isinstance(c, cmd.OriginateCall) and endpoint_part in c.endpoint
        )

    def dial_customer(self) -> tuple[str, str, str]:
        """Book, ring ag1, ag1 answers: (agent leg, customer leg, the customer's job)."""
        req = CallbackRing({"callback": "7", "agent": "ag1", "number": "5550101", "attempt": 2})
        self.booked.request(req)
        assert req.result.get(timeout=1)["status"] == "ringing_agent"
        _, ring = self.originate("user/1101")
        self.seen.add(ring.uuid)
        self.event(ev.LegAnswered("sw", ring.uuid, NOW))
        job, dial = self.originate("sofia/gateway/carrier/5550101")
        assert dial.variables["originate_timeout"] == "30"
        assert self.outcomes == [("7", "dialling", dial.uuid, 2)]
        return ring.uuid, dial.uuid, job

    def bridged(self, a: str, b: str) -> bool:
        return any(
            isinstance(c, cmd.BridgeLegs) and {c.uuid, c.other} == {a, b} for _, c in self.sent
        )

    def hung_up(self, leg: str) -> bool:
        return any(isinstance(c, cmd.HangupLeg) and c.uuid == leg for _, c in self.sent)


@pytest.mark.parametrize("order", ["reply-after-bridge", "reply-before-the-legs-events"])
def test_the_customer_leg_events_decide_whatever_the_job_answers(order):
    rig = Rig()
    agent_leg, customer, job = rig.dial_customer()
    if order == "reply-after-bridge":
        rig.seen.add(customer)
        rig.event(ev.LegAnswered("sw", customer, NOW))
        rig.rt.job_done(job, "-ERR ORIGINATOR_CANCEL\n")
    else:  # the reply came first: the leg was never shown yet
        rig.rt.job_done(job, "-ERR ORIGINATOR_CANCEL\n")
        assert not rig.hung_up(agent_leg) and rig.outcomes[-1][1] == "dialling"
        rig.seen.add(customer)
        rig.event(ev.LegAnswered("sw", customer, NOW))
    assert rig.bridged(agent_leg, customer)
    assert rig.outcomes[-1][:2] == ("7", "answered") and rig.outcomes[-1][3] == 2
    assert not rig.hung_up(customer) and not rig.hung_up(agent_leg)
    assert str(rig.rt.acd.agents["ag1"].state) == "on_call"


@pytest.mark.parametrize("order", ["reply-first", "hang-up-first"])
def test_an_unanswered_dial_is_scored_once_and_frees_the_agent(order):
    rig = Rig()
    agent_leg, customer, job = rig.dial_customer()
    rig.seen.add(customer)
    if order == "reply-first":
        rig.rt.job_done(job, "-ERR NO_ANSWER\n")  # the leg is on the switch: its hang-up decides
        assert rig.outcomes[-1][1] == "dialling"
    rig.seen.discard(customer)
    rig.event(ev.LegHungUp("sw", customer, "NO_ANSWER", NOW))
    if order == "hang-up-first":
        rig.rt.job_done(job, "-ERR NO_ANSWER\n")
    assert [o[1] for o in rig.outcomes] == ["dialling", "no_answer"]
    assert rig.hung_up(agent_leg) and not rig.bridged(agent_leg, customer)


def test_a_dial_the_switch_refuses_outright_fails_the_attempt_and_frees_the_agent():
    rig = Rig()
    agent_leg, customer, job = rig.dial_customer()
    rig.rt.job_done(job, "-ERR GATEWAY_DOWN\n")
    assert rig.outcomes[-1][:2] == ("7", "failed") and "GATEWAY_DOWN" in rig.outcomes[-1][2]
    assert rig.hung_up(agent_leg)


def test_a_repeated_request_for_the_same_attempt_never_dials_twice_but_the_next_one_does():
    rig = Rig()
    agent_leg, customer, _ = rig.dial_customer()
    again = CallbackRing({"callback": "7", "agent": "ag1", "number": "5550101", "attempt": 2})
    rig.booked.request(again)
    assert again.result.get(timeout=1) == {"status": "duplicate"}
    rig.event(ev.LegHungUp("sw", customer, "USER_BUSY", NOW))
    assert rig.outcomes[-1][1] == "busy"
    rig.event(ev.LegHungUp("sw", agent_leg, "NORMAL_CLEARING", NOW))
    rig.rt.apply(rig.rt.acd.end_wrap_up("ag1", 101.0))  # (no queue: no wrap-up anyway)
    third = CallbackRing({"callback": "7", "agent": "ag1", "number": "5550101", "attempt": 3})
    rig.booked.request(third)
    assert third.result.get(timeout=1)["status"] == "ringing_agent"
