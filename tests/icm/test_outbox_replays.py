"""Every outbox writer saves a replayed batch once (issue 21, finding 1).

icm's outbox writes a batch again when a commit's reply was lost, and the next daemon writes
a spill's chunk again when the last one died between the commit and the spill's cut. The
agent state log and the system events were plain inserts: a replay doubled an agent's
not-ready time in the reports and an alarm in the event history."""

from __future__ import annotations

import pytest

from agents.models import Agent, AgentStateChange
from icm.daemon.calls.store import ensure_switch, write_agent_changes
from icm.daemon.supervision.store import system_event, write_system_events
from icm.domain.acd.agent_fsm import AgentStateChanged
from icm.domain.acd.model import AgentState
from icm.domain.alarms import Alarm, AlarmChange
from icm.models import SystemEvent

AT = 1_796_000_000.123456


@pytest.fixture
def switch(db):
    return ensure_switch("replay-sw", "127.0.0.1", 8021)


def test_a_replayed_batch_of_agent_state_changes_is_saved_once(switch):
    Agent.objects.create(login_id="rp1", name="Replay One")
    batch = [
        AgentStateChanged("rp1", AgentState.LOGGED_OUT, AgentState.NOT_READY, AT, "login"),
        AgentStateChanged("rp1", AgentState.NOT_READY, AgentState.READY, AT + 1.5, "agent"),
    ]
    assert write_agent_changes("replay-sw", batch) == 2
    write_agent_changes("replay-sw", batch)  # the lost reply's retry, or the next daemon
    write_agent_changes("replay-sw", batch[1:])
    log = AgentStateChange.objects.filter(agent__login_id="rp1").order_by("at")
    assert [(c.from_state, c.to_state) for c in log] == [
        (str(AgentState.LOGGED_OUT), str(AgentState.NOT_READY)),
        (str(AgentState.NOT_READY), str(AgentState.READY)),
    ]


def test_the_same_transition_at_another_moment_is_a_new_row(switch):
    Agent.objects.create(login_id="rp2", name="Replay Two")
    ready = [
        AgentStateChanged("rp2", AgentState.NOT_READY, AgentState.READY, t, "agent")
        for t in (AT, AT + 60)
    ]
    write_agent_changes("replay-sw", ready)
    assert AgentStateChange.objects.filter(agent__login_id="rp2").count() == 2


def test_a_replayed_batch_of_system_events_is_saved_once(switch):
    alarm = Alarm("queue_waiting:sales", "queue_waiting", "sales", "warning", "6 waiting in sales")

    def batch() -> list[SystemEvent]:  # unsaved rows, as the spill gives them back
        return [
            system_event("replay-sw", SystemEvent.Kind.ICM_STARTED, AT, "icm started"),
            system_event(
                "replay-sw",
                SystemEvent.Kind.ALARM_RAISED,
                AT + 2,
                change=AlarmChange(alarm, True, AT + 2, AT + 2),
            ),
        ]

    write_system_events(batch())
    write_system_events(batch())
    assert SystemEvent.objects.filter(switch="replay-sw").count() == 2
