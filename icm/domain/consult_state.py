"""The consultation state machine (AG-9, AG-10), pure: the states a consultation goes
through, the events that move it, and which move is legal. icm.daemon.consults drives it; the
switch commands each move needs stay there.

A consultation rings the consulted party (RINGING); it answers (TALKING); the consulting
agent completes the transfer (COMPLETING until the customer is bridged, then DONE), brings
everyone into a conference (CONFERENCE), or the consulted party leaves and the agent is back
with the customer (ENDED). Completing while it still rings — or the consulting agent hanging
up then — makes it TRANSFER_ON_ANSWER: the customer goes to the consulted party once it
answers. The customer hanging up moves each live state to its *_CUSTOMER_GONE twin, which
only waits for the other legs to go.
"""

from __future__ import annotations

import enum


class ConsultState(enum.StrEnum):
    RINGING = "ringing"
    TRANSFER_ON_ANSWER = "transfer_on_answer"  # ringing; the consulting agent has left
    TALKING = "talking"
    COMPLETING = "completing"  # the customer is being bridged to the consulted party
    CONFERENCE = "conference"
    RINGING_CUSTOMER_GONE = "ringing_customer_gone"
    TALKING_CUSTOMER_GONE = "talking_customer_gone"
    COMPLETING_CUSTOMER_GONE = "completing_customer_gone"
    CONFERENCE_CUSTOMER_GONE = "conference_customer_gone"
    DONE = "done"  # transferred: the consulted party has the customer
    ENDED = "ended"  # over without a transfer (back to the customer, aborted, room closed)

    @property
    def shown(self) -> str:
        """What a desktop shows: ringing, talking, completing, conference, done or ended."""
        return _SHOWN[self]

    @property
    def customer_gone(self) -> bool:
        return self in _GONE

    @property
    def over(self) -> bool:
        return self in (ConsultState.DONE, ConsultState.ENDED)


class ConsultEvent(enum.StrEnum):
    ANSWERED = "answered"  # the consulted party answered
    COMPLETE = "complete"  # the consulting agent asks for the transfer
    CONFERENCE = "conference"  # the consulting agent asks for a conference
    CANCEL = "cancel"  # the consulting agent ends the consulted leg (state unchanged)
    HANDED = "handed"  # the customer is bridged to the consulted party
    CONSULTING_AGENT_LEFT = "consulting_agent_left"
    CONSULTED_LEFT = "consulted_left"  # the consulted party's leg ended (or never came up)
    CUSTOMER_LEFT = "customer_left"
    ROOM_CLOSED = "room_closed"  # the conference has no customer or no agent left
    ABORTED = "aborted"  # the switch refused a step of the beginning


class IllegalConsultTransition(ValueError):
    """The event cannot happen in the consultation's state."""


S, E = ConsultState, ConsultEvent
_SHOWN: dict[ConsultState, str] = {
    S.RINGING: "ringing",
    S.TRANSFER_ON_ANSWER: "ringing",
    S.TALKING: "talking",
    S.COMPLETING: "completing",
    S.CONFERENCE: "conference",
    S.RINGING_CUSTOMER_GONE: "ringing",
    S.TALKING_CUSTOMER_GONE: "talking",
    S.COMPLETING_CUSTOMER_GONE: "completing",
    S.CONFERENCE_CUSTOMER_GONE: "conference",
    S.DONE: "done",
    S.ENDED: "ended",
}
_GONE = frozenset(
    {
        S.RINGING_CUSTOMER_GONE,
        S.TALKING_CUSTOMER_GONE,
        S.COMPLETING_CUSTOMER_GONE,
        S.CONFERENCE_CUSTOMER_GONE,
    }
)
_LIVE = frozenset(s for s in S if not s.over)

TRANSITIONS: dict[tuple[ConsultState, ConsultEvent], ConsultState] = {
    # the consulted party answers
    (S.RINGING, E.ANSWERED): S.TALKING,
    (S.TRANSFER_ON_ANSWER, E.ANSWERED): S.DONE,
    (S.RINGING_CUSTOMER_GONE, E.ANSWERED): S.RINGING_CUSTOMER_GONE,  # hung up at once
    # the consulting agent's steps
    (S.RINGING, E.COMPLETE): S.TRANSFER_ON_ANSWER,
    (S.TRANSFER_ON_ANSWER, E.COMPLETE): S.TRANSFER_ON_ANSWER,
    (S.RINGING_CUSTOMER_GONE, E.COMPLETE): S.RINGING_CUSTOMER_GONE,
    (S.TALKING, E.COMPLETE): S.COMPLETING,
    (S.TALKING_CUSTOMER_GONE, E.COMPLETE): S.COMPLETING_CUSTOMER_GONE,
    (S.TALKING, E.CONFERENCE): S.CONFERENCE,
    (S.TALKING_CUSTOMER_GONE, E.CONFERENCE): S.CONFERENCE_CUSTOMER_GONE,
    **{
        (s, E.CANCEL): s
        for s in (
            S.RINGING,
            S.TRANSFER_ON_ANSWER,
            S.TALKING,
            S.COMPLETING,
            S.RINGING_CUSTOMER_GONE,
            S.TALKING_CUSTOMER_GONE,
            S.COMPLETING_CUSTOMER_GONE,
        )
    },
    (S.COMPLETING, E.HANDED): S.DONE,
    (S.COMPLETING_CUSTOMER_GONE, E.HANDED): S.DONE,
    # the consulting agent's phone hangs up: the transfer is made (now or on answer)
    (S.RINGING, E.CONSULTING_AGENT_LEFT): S.TRANSFER_ON_ANSWER,
    (S.TRANSFER_ON_ANSWER, E.CONSULTING_AGENT_LEFT): S.TRANSFER_ON_ANSWER,
    (S.TALKING, E.CONSULTING_AGENT_LEFT): S.DONE,
    (S.COMPLETING, E.CONSULTING_AGENT_LEFT): S.DONE,
    (S.CONFERENCE, E.CONSULTING_AGENT_LEFT): S.CONFERENCE,
    **{(s, E.CONSULTING_AGENT_LEFT): s for s in _GONE},
    # the consulted party's leg ends: back to the customer (or to its queue)
    **{
        (s, E.CONSULTED_LEFT): S.ENDED
        for s in (
            S.RINGING,
            S.TRANSFER_ON_ANSWER,
            S.TALKING,
            S.COMPLETING,
            S.RINGING_CUSTOMER_GONE,
            S.TALKING_CUSTOMER_GONE,
            S.COMPLETING_CUSTOMER_GONE,
        )
    },
    (S.CONFERENCE, E.CONSULTED_LEFT): S.CONFERENCE,
    (S.CONFERENCE_CUSTOMER_GONE, E.CONSULTED_LEFT): S.CONFERENCE_CUSTOMER_GONE,
    (S.DONE, E.CONSULTED_LEFT): S.DONE,
    # the customer hangs up
    (S.RINGING, E.CUSTOMER_LEFT): S.RINGING_CUSTOMER_GONE,
    (S.TRANSFER_ON_ANSWER, E.CUSTOMER_LEFT): S.RINGING_CUSTOMER_GONE,
    (S.TALKING, E.CUSTOMER_LEFT): S.TALKING_CUSTOMER_GONE,
    (S.COMPLETING, E.CUSTOMER_LEFT): S.COMPLETING_CUSTOMER_GONE,
    (S.CONFERENCE, E.CUSTOMER_LEFT): S.CONFERENCE_CUSTOMER_GONE,
    **{(s, E.CUSTOMER_LEFT): s for s in _GONE},
    # the conference ends
    (S.CONFERENCE, E.ROOM_CLOSED): S.ENDED,
    (S.CONFERENCE_CUSTOMER_GONE, E.ROOM_CLOSED): S.ENDED,
    # the switch refused a step of the beginning: undone, whatever happened meanwhile
    **{(s, E.ABORTED): S.ENDED for s in _LIVE},
}


def allows(state: ConsultState, event: ConsultEvent) -> bool:
    return (state, event) in TRANSITIONS


def next_state(state: ConsultState, event: ConsultEvent) -> ConsultState:
    """The state `event` moves a consultation in `state` to; IllegalConsultTransition when
    the event cannot happen there."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalConsultTransition(f"consultation {state}: {event} is not possible") from None
