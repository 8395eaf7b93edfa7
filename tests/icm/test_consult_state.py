"""The consultation state machine (icm.domain.consult_state) as pure code: every legal move,
the moves a desktop or the switch could ask for at the wrong moment refused, and what a
desktop is shown in each state."""

from __future__ import annotations

import pytest

from icm.domain.consult_state import (
    TRANSITIONS,
    ConsultEvent,
    ConsultState,
    IllegalConsultTransition,
    allows,
    next_state,
)

S, E = ConsultState, ConsultEvent
GONE = {
    S.RINGING: S.RINGING_CUSTOMER_GONE,
    S.TRANSFER_ON_ANSWER: S.RINGING_CUSTOMER_GONE,
    S.TALKING: S.TALKING_CUSTOMER_GONE,
    S.COMPLETING: S.COMPLETING_CUSTOMER_GONE,
    S.CONFERENCE: S.CONFERENCE_CUSTOMER_GONE,
}
LIVE = [s for s in S if s not in (S.DONE, S.ENDED)]

LEGAL = [
    (S.RINGING, E.ANSWERED, S.TALKING),
    (S.TRANSFER_ON_ANSWER, E.ANSWERED, S.DONE),
    (S.RINGING_CUSTOMER_GONE, E.ANSWERED, S.RINGING_CUSTOMER_GONE),
    (S.RINGING, E.COMPLETE, S.TRANSFER_ON_ANSWER),
    (S.TRANSFER_ON_ANSWER, E.COMPLETE, S.TRANSFER_ON_ANSWER),
    (S.RINGING_CUSTOMER_GONE, E.COMPLETE, S.RINGING_CUSTOMER_GONE),
    (S.TALKING, E.COMPLETE, S.COMPLETING),
    (S.TALKING_CUSTOMER_GONE, E.COMPLETE, S.COMPLETING_CUSTOMER_GONE),
    (S.TALKING, E.CONFERENCE, S.CONFERENCE),
    (S.TALKING_CUSTOMER_GONE, E.CONFERENCE, S.CONFERENCE_CUSTOMER_GONE),
    (S.RINGING, E.CANCEL, S.RINGING),
    (S.TRANSFER_ON_ANSWER, E.CANCEL, S.TRANSFER_ON_ANSWER),
    (S.TALKING, E.CANCEL, S.TALKING),
    (S.COMPLETING, E.CANCEL, S.COMPLETING),
    (S.RINGING_CUSTOMER_GONE, E.CANCEL, S.RINGING_CUSTOMER_GONE),
    (S.TALKING_CUSTOMER_GONE, E.CANCEL, S.TALKING_CUSTOMER_GONE),
    (S.COMPLETING_CUSTOMER_GONE, E.CANCEL, S.COMPLETING_CUSTOMER_GONE),
    (S.COMPLETING, E.HANDED, S.DONE),
    (S.COMPLETING_CUSTOMER_GONE, E.HANDED, S.DONE),
    (S.RINGING, E.CONSULTING_AGENT_LEFT, S.TRANSFER_ON_ANSWER),
    (S.TRANSFER_ON_ANSWER, E.CONSULTING_AGENT_LEFT, S.TRANSFER_ON_ANSWER),
    (S.TALKING, E.CONSULTING_AGENT_LEFT, S.DONE),
    (S.COMPLETING, E.CONSULTING_AGENT_LEFT, S.DONE),
    (S.CONFERENCE, E.CONSULTING_AGENT_LEFT, S.CONFERENCE),
    (S.RINGING_CUSTOMER_GONE, E.CONSULTING_AGENT_LEFT, S.RINGING_CUSTOMER_GONE),
    (S.TALKING_CUSTOMER_GONE, E.CONSULTING_AGENT_LEFT, S.TALKING_CUSTOMER_GONE),
    (S.COMPLETING_CUSTOMER_GONE, E.CONSULTING_AGENT_LEFT, S.COMPLETING_CUSTOMER_GONE),
    (S.CONFERENCE_CUSTOMER_GONE, E.CONSULTING_AGENT_LEFT, S.CONFERENCE_CUSTOMER_GONE),
    (S.RINGING, E.CONSULTED_LEFT, S.ENDED),
    (S.TRANSFER_ON_ANSWER, E.CONSULTED_LEFT, S.ENDED),
    (S.TALKING, E.CONSULTED_LEFT, S.ENDED),
    (S.COMPLETING, E.CONSULTED_LEFT, S.ENDED),
    (S.RINGING_CUSTOMER_GONE, E.CONSULTED_LEFT, S.ENDED),
    (S.TALKING_CUSTOMER_GONE, E.CONSULTED_LEFT, S.ENDED),
    (S.COMPLETING_CUSTOMER_GONE, E.CONSULTED_LEFT, S.ENDED),
    (S.CONFERENCE, E.CONSULTED_LEFT, S.CONFERENCE),
    (S.CONFERENCE_CUSTOMER_GONE, E.CONSULTED_LEFT, S.CONFERENCE_CUSTOMER_GONE),
    (S.DONE, E.CONSULTED_LEFT, S.DONE),
    *[(s, E.CUSTOMER_LEFT, gone) for s, gone in GONE.items()],
    *[(s, E.CUSTOMER_LEFT, s) for s in dict.fromkeys(GONE.values())],  # in a stable order
    (S.CONFERENCE, E.ROOM_CLOSED, S.ENDED),
    (S.CONFERENCE_CUSTOMER_GONE, E.ROOM_CLOSED, S.ENDED),
    *[(s, E.ABORTED, S.ENDED) for s in LIVE],
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
        (S.RINGING, E.CONFERENCE),  # nobody to bring into a room yet
        (S.RINGING, E.HANDED),
        (S.COMPLETING, E.COMPLETE),  # "there is nobody to transfer to yet"
        (S.CONFERENCE, E.COMPLETE),
        (S.CONFERENCE, E.CANCEL),  # a conference is left, not cancelled
        (S.TALKING, E.ANSWERED),  # answered twice
        (S.TALKING, E.ROOM_CLOSED),
        (S.DONE, E.ANSWERED),
        (S.DONE, E.CUSTOMER_LEFT),
        (S.ENDED, E.CONSULTED_LEFT),
        (S.ENDED, E.ABORTED),
        (S.COMPLETING_CUSTOMER_GONE, E.CONFERENCE),
    ],
)
def test_illegal_moves_are_refused_with_a_clear_error(state, event):
    assert not allows(state, event)
    with pytest.raises(IllegalConsultTransition, match=f"{state}: {event} is not possible"):
        next_state(state, event)


def test_nothing_leaves_the_end_states_but_a_late_hang_up_after_a_transfer():
    for end in (S.DONE, S.ENDED):
        moves = {e for (s, e) in TRANSITIONS if s is end}
        assert moves == ({E.CONSULTED_LEFT} if end is S.DONE else set())


def test_a_desktop_sees_the_phase_whether_or_not_the_customer_is_still_there():
    assert {s: s.shown for s in GONE} == {
        S.RINGING: "ringing",
        S.TRANSFER_ON_ANSWER: "ringing",
        S.TALKING: "talking",
        S.COMPLETING: "completing",
        S.CONFERENCE: "conference",
    }
    for live, gone in GONE.items():
        assert gone.shown == live.shown and gone.customer_gone and not live.customer_gone


def test_a_transfer_completed_while_ringing_happens_on_answer():
    state = next_state(S.RINGING, E.COMPLETE)
    assert state.shown == "ringing"
    assert next_state(state, E.ANSWERED) is S.DONE


def test_the_customer_hanging_up_mid_conference_then_the_room_closing_ends_it():
    state = S.RINGING
    for event in (E.ANSWERED, E.CONFERENCE, E.CUSTOMER_LEFT, E.CONSULTED_LEFT, E.ROOM_CLOSED):
        state = next_state(state, event)
    assert state is S.ENDED
