"""The campaign call state machine (outbound.domain.campaign_call_state) as pure code: every
legal move, moves at the wrong moment refused, and the attempt's result each state stands
for."""

from __future__ import annotations

import pytest

from outbound.domain.campaign_call_state import (
    TRANSITIONS,
    CallEvent,
    CallState,
    IllegalCallTransition,
    allows,
    next_state,
)

S, E = CallState, CallEvent
FINISHABLE = [
    S.PREVIEW_SHOWN,
    S.PREVIEW_CALLED,
    S.DIALING,
    S.ANSWERED,
    S.DETECTING,
    S.WAITING_AGENT,
    S.OFFERED,
    S.CONNECTED,
    S.MACHINE,
    S.ABANDONED,
]

LEGAL = [
    (S.PREVIEW_WAITING, E.SHOW, S.PREVIEW_SHOWN),
    (S.PREVIEW_SHOWN, E.CALL, S.PREVIEW_CALLED),
    (S.PREVIEW_SHOWN, E.BACK_TO_PREVIEWS, S.PREVIEW_WAITING),
    (S.QUEUED, E.BACK_TO_PREVIEWS, S.PREVIEW_WAITING),
    (S.AGENT_RINGING, E.BACK_TO_PREVIEWS, S.PREVIEW_WAITING),
    (S.PREVIEW_AGENT_RINGING, E.BACK_TO_PREVIEWS, S.PREVIEW_WAITING),
    (S.QUEUED, E.RING_AGENT, S.AGENT_RINGING),
    (S.PREVIEW_CALLED, E.RING_AGENT, S.PREVIEW_AGENT_RINGING),
    (S.QUEUED, E.DIAL, S.DIALING),
    (S.AGENT_RINGING, E.DIAL, S.DIALING),
    (S.PREVIEW_AGENT_RINGING, E.DIAL, S.DIALING),
    (S.DIALING, E.ANSWER, S.ANSWERED),
    (S.ANSWERED, E.DETECT, S.DETECTING),
    (S.DETECTING, E.PERSON, S.ANSWERED),
    (S.DETECTING, E.MACHINE, S.MACHINE),
    (S.ANSWERED, E.CONNECT, S.CONNECTED),
    (S.ANSWERED, E.TO_AGENTS, S.WAITING_AGENT),
    (S.ANSWERED, E.NO_AGENTS, S.ABANDONED),
    (S.WAITING_AGENT, E.OFFER, S.OFFERED),
    (S.OFFERED, E.OFFER, S.OFFERED),
    (S.WAITING_AGENT, E.GRACE_OVER, S.ABANDONED),
    (S.WAITING_AGENT, E.AGENT_TOOK, S.CONNECTED),
    (S.OFFERED, E.AGENT_TOOK, S.CONNECTED),
    *[(s, E.FINISH, S.FINISHED) for s in FINISHABLE],
    (S.QUEUED, E.DROP, S.DROPPED),
    (S.PREVIEW_WAITING, E.DROP, S.DROPPED),
    (S.PREVIEW_SHOWN, E.DROP, S.DROPPED),
]


@pytest.mark.parametrize(("state", "event", "after"), LEGAL)
def test_every_legal_move(state, event, after):
    assert allows(state, event)
    assert next_state(state, event) is after


def test_the_table_has_no_move_beyond_the_diagram():
    assert {(s, e): a for s, e, a in LEGAL} == TRANSITIONS


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.QUEUED, E.ANSWER),  # nothing rings before it is dialed
        (S.QUEUED, E.FINISH),  # never rang anyone: dropped, not written
        (S.DIALING, E.DIAL),  # dialed twice
        (S.OFFERED, E.GRACE_OVER),  # an agent was offered it in time: not abandoned
        (S.ABANDONED, E.AGENT_TOOK),  # withdrawn from the queue already
        (S.MACHINE, E.TO_AGENTS),
        (S.CONNECTED, E.MACHINE),  # a verdict after the call went on
        (S.PREVIEW_CALLED, E.DROP),  # its agent pressed Call: it goes on when paused
        (S.PREVIEW_CALLED, E.CALL),  # Call pressed twice
        (S.DETECTING, E.CONNECT),  # no verdict yet
        (S.FINISHED, E.FINISH),
        (S.DROPPED, E.SHOW),
    ],
)
def test_illegal_moves_are_refused_with_a_clear_error(state, event):
    assert not allows(state, event)
    with pytest.raises(IllegalCallTransition, match=f"{state}: {event} is not possible"):
        next_state(state, event)


def test_nothing_leaves_the_end_states():
    assert not [(s, e) for (s, e) in TRANSITIONS if s.over]


def test_the_result_written_is_decided_by_the_state():
    assert {s: s.result for s in S if s.result} == {
        S.CONNECTED: "answered",
        S.MACHINE: "machine",
        S.ABANDONED: "abandoned",
    }


def test_a_called_preview_is_dialed_for_its_agent_and_a_call_back_is_not_a_preview():
    state = S.PREVIEW_WAITING
    for event in (E.SHOW, E.CALL, E.RING_AGENT):
        state = next_state(state, event)
        assert state.from_preview is (event is not E.SHOW)
    assert next_state(S.QUEUED, E.RING_AGENT).from_preview is False
    assert next_state(state, E.DIAL) is S.DIALING


def test_a_predictive_call_a_person_answers_and_nobody_takes_in_time_is_abandoned():
    state = S.QUEUED
    for event in (E.DIAL, E.ANSWER, E.DETECT, E.PERSON, E.TO_AGENTS, E.GRACE_OVER, E.FINISH):
        state = next_state(state, event)
    assert state is S.FINISHED
