"""The campaign call state machine (issue 9, 17), pure: the states one campaign attempt goes
through in icm's dialer, the events that move it, and which move is legal. The dialer
(icm.daemon.campaigns.dialer) drives it and does the switch work each move needs.

An attempt waits for the pacer (QUEUED) — or, in a preview campaign, for a free agent
(PREVIEW_WAITING), is shown to one (PREVIEW_SHOWN) who presses Call (PREVIEW_CALLED). A
call-back or a called preview rings its agent first (AGENT_RINGING, PREVIEW_AGENT_RINGING);
then the customer is dialed (DIALING). Answered (ANSWERED), it is listened to for a machine
(DETECTING), then connected to its own agent or to an agentless message or flow (CONNECTED),
handed to the campaign queue's agents (WAITING_AGENT, OFFERED, then CONNECTED when one takes
it), or given up (MACHINE, ABANDONED). It ends written to the attempt log (FINISHED) or
forgotten unsent, to be sent again (DROPPED).
"""

from __future__ import annotations

import enum


class CallState(enum.StrEnum):
    QUEUED = "queued"  # waiting for the pacer
    PREVIEW_WAITING = "preview_waiting"  # a preview waiting for a free agent
    PREVIEW_SHOWN = "preview_shown"  # an agent sees it: Call or Skip
    PREVIEW_CALLED = "preview_called"  # its agent pressed Call (or its time ran out)
    AGENT_RINGING = "agent_ringing"  # a call-back's agent is rung before the customer
    PREVIEW_AGENT_RINGING = "preview_agent_ringing"  # the same for a called preview
    DIALING = "dialing"  # the customer's leg is originated
    ANSWERED = "answered"  # the customer's leg answered: what next is being decided
    DETECTING = "detecting"  # answering-machine detection runs, no verdict yet
    WAITING_AGENT = "waiting_agent"  # handed to the ACD; the grace time runs
    OFFERED = "offered"  # the ACD offered it to an agent
    CONNECTED = "connected"  # with its agent, or its agentless message or flow
    MACHINE = "machine"  # a machine answered: hung up, or its message left
    ABANDONED = "abandoned"  # no agent in time (or no queue): message, then hung up
    FINISHED = "finished"  # written to the attempt log
    DROPPED = "dropped"  # forgotten before it rang anyone: may be sent again

    @property
    def result(self) -> str:
        """The attempt's result once it is decided ("" before): answered, machine or
        abandoned."""
        return _RESULTS.get(self, "")

    @property
    def from_preview(self) -> bool:
        """Its preview's agent pressed Call: it is being dialed for that agent."""
        return self in (CallState.PREVIEW_CALLED, CallState.PREVIEW_AGENT_RINGING)

    @property
    def over(self) -> bool:
        return self in (CallState.FINISHED, CallState.DROPPED)


class CallEvent(enum.StrEnum):
    SHOW = "show"  # a preview shown to a free agent
    CALL = "call"  # the preview's agent pressed Call (or its time ran out)
    BACK_TO_PREVIEWS = "back_to_previews"  # nobody's preview again (agent away, missed)
    RING_AGENT = "ring_agent"  # the agent's phone rings first
    DIAL = "dial"  # the customer's leg is originated
    ANSWER = "answer"  # the customer's leg answered
    DETECT = "detect"  # detection starts
    PERSON = "person"  # detection: a person (or no verdict)
    MACHINE = "machine"  # detection: a machine
    CONNECT = "connect"  # bridged to its agent, or its agentless message or flow plays
    TO_AGENTS = "to_agents"  # handed to the campaign queue's agents
    NO_AGENTS = "no_agents"  # the campaign's queue is unknown: abandoned at once
    OFFER = "offer"  # the ACD offered it to an agent
    GRACE_OVER = "grace_over"  # no agent offered it in the grace time
    AGENT_TOOK = "agent_took"  # an agent of the queue took it
    FINISH = "finish"  # its result written (hung up, failed, skipped)
    DROP = "drop"  # its campaign paused or stopped before it rang anyone


class IllegalCallTransition(ValueError):
    """The event cannot happen in the campaign call's state."""


S, E = CallState, CallEvent
_RESULTS = {S.CONNECTED: "answered", S.MACHINE: "machine", S.ABANDONED: "abandoned"}

TRANSITIONS: dict[tuple[CallState, CallEvent], CallState] = {
    # previews
    (S.PREVIEW_WAITING, E.SHOW): S.PREVIEW_SHOWN,
    (S.PREVIEW_SHOWN, E.CALL): S.PREVIEW_CALLED,
    **{
        (s, E.BACK_TO_PREVIEWS): S.PREVIEW_WAITING
        for s in (S.PREVIEW_SHOWN, S.QUEUED, S.AGENT_RINGING, S.PREVIEW_AGENT_RINGING)
    },
    # the agent first (call-backs, called previews)
    (S.QUEUED, E.RING_AGENT): S.AGENT_RINGING,
    (S.PREVIEW_CALLED, E.RING_AGENT): S.PREVIEW_AGENT_RINGING,
    # the customer
    **{(s, E.DIAL): S.DIALING for s in (S.QUEUED, S.AGENT_RINGING, S.PREVIEW_AGENT_RINGING)},
    (S.DIALING, E.ANSWER): S.ANSWERED,
    (S.ANSWERED, E.DETECT): S.DETECTING,
    (S.DETECTING, E.PERSON): S.ANSWERED,
    (S.DETECTING, E.MACHINE): S.MACHINE,
    (S.ANSWERED, E.CONNECT): S.CONNECTED,
    (S.ANSWERED, E.TO_AGENTS): S.WAITING_AGENT,
    (S.ANSWERED, E.NO_AGENTS): S.ABANDONED,
    # the campaign queue's agents
    (S.WAITING_AGENT, E.OFFER): S.OFFERED,
    (S.OFFERED, E.OFFER): S.OFFERED,  # offered again after an agent let it ring
    (S.WAITING_AGENT, E.GRACE_OVER): S.ABANDONED,
    (S.WAITING_AGENT, E.AGENT_TOOK): S.CONNECTED,
    (S.OFFERED, E.AGENT_TOOK): S.CONNECTED,
    # the end
    **{
        (s, E.FINISH): S.FINISHED
        for s in (
            S.PREVIEW_SHOWN,  # skipped
            S.PREVIEW_CALLED,  # its agent could not be rung
            S.DIALING,  # not answered, refused, failed
            S.ANSWERED,
            S.DETECTING,  # hung up during detection (the switch's failure, or a person)
            S.WAITING_AGENT,
            S.OFFERED,
            S.CONNECTED,
            S.MACHINE,
            S.ABANDONED,
        )
    },
    **{(s, E.DROP): S.DROPPED for s in (S.QUEUED, S.PREVIEW_WAITING, S.PREVIEW_SHOWN)},
}


def allows(state: CallState, event: CallEvent) -> bool:
    return (state, event) in TRANSITIONS


def next_state(state: CallState, event: CallEvent) -> CallState:
    """The state `event` moves a campaign call in `state` to; IllegalCallTransition when the
    event cannot happen there."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalCallTransition(f"campaign call {state}: {event} is not possible") from None
