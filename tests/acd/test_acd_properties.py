"""ACD invariants over random event sequences (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from icm.domain.acd.engine import Acd
from icm.domain.acd.model import (
    AgentState,
    CallKind,
    Contact,
    ContactOutcome,
    EscalationStep,
    Overflow,
    QueuePolicy,
)
from icm.domain.acd.outputs import ContactFinished, OfferContact
from icm.domain.acd.selection import escalation, required_levels

SKILLS = ("en", "es", "billing")
AGENTS = [f"a{i}" for i in range(6)]
POLICIES = [
    QueuePolicy("sales", "round_robin", {"en": 3}, ring_timeout=10, wrap_up_seconds=5),
    QueuePolicy(
        "support",
        "skills_best_match",
        {"en": 5, "billing": 4},
        ring_timeout=8,
        escalation=(EscalationStep(20, 2),),
        max_missed=2,
    ),
    QueuePolicy(
        "spanish",
        "ring_all",
        {"es": 6},
        ring_timeout=12,
        wrap_up_seconds=0,
        overflow=(Overflow("voicemail", after_seconds=60),),
    ),
    QueuePolicy("vip", "longest_idle", {}, priority_mode="strict", ring_timeout=5),
]
STRICT = {p.name for p in POLICIES if p.priority_mode == "strict"}

skill_levels = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=3)
agent = st.sampled_from(AGENTS)
op = st.one_of(
    st.tuples(st.just("login"), agent, st.booleans()),
    st.tuples(st.just("logout"), agent),
    st.tuples(st.just("ready"), agent),
    st.tuples(st.just("not_ready"), agent),
    st.tuples(
        st.just("enqueue"),
        st.sampled_from([p.name for p in POLICIES]),
        st.integers(0, 3),
        st.one_of(st.none(), st.sampled_from(SKILLS)),
    ),
    st.tuples(st.just("abandon"), st.integers(0, 50)),
    st.tuples(st.just("answer"), agent),
    st.tuples(
        st.just("fail"),
        agent,
        st.sampled_from(["no_answer", "rejected", "rejected_not_ready", "busy"]),
    ),
    st.tuples(st.just("hangup"), agent),
    st.tuples(st.just("wrap_done"), agent),
    st.tuples(st.just("internal"), agent),
    st.tuples(st.just("wait"), st.floats(0.1, 30)),
)


class Run:
    def __init__(self, skills: list[dict[str, int]]) -> None:
        self.acd = Acd()
        self.now = 0.0
        for policy in POLICIES:
            self.acd.set_policy(policy, 0)
        for agent_id, levels in zip(AGENTS, skills, strict=True):
            self.acd.set_agent(agent_id, levels)
        self.enqueued: list[str] = []
        self.finished: dict[str, list[ContactOutcome]] = {}

    def apply(self, spec) -> None:
        kind, *args = spec
        acd, now = self.acd, self.now
        agents = acd.agents
        out = []
        if kind == "login" and agents[args[0]].state is AgentState.LOGGED_OUT:
            out = acd.login(args[0], now, ready=args[1])
        elif kind == "logout":
            out = acd.logout(args[0], now)
        elif kind == "ready" and agents[args[0]].state is not AgentState.LOGGED_OUT:
            out = acd.set_ready(args[0], now)
        elif kind == "not_ready" and agents[args[0]].state is not AgentState.LOGGED_OUT:
            out = acd.set_not_ready(args[0], now, "break")
        elif kind == "enqueue":
            queue, priority, extra = args
            cid = f"c{len(self.enqueued)}"
            self.enqueued.append(cid)
            required = {extra: 2} if extra else {}
            out = acd.enqueue(
                Contact(cid, queue, now, priority=priority, required_skills=required), now
            )
        elif kind == "abandon" and self.enqueued:
            out = acd.abandon(self.enqueued[args[0] % len(self.enqueued)], now)
        elif kind == "answer" and agents[args[0]].state is AgentState.RESERVED:
            out = acd.offer_answered(agents[args[0]].contact_id, args[0], now)
        elif kind == "fail" and agents[args[0]].state is AgentState.RESERVED:
            out = acd.offer_failed(agents[args[0]].contact_id, args[0], now, args[1])
        elif kind == "hangup":
            out = acd.call_ended(args[0], now)
        elif kind == "wrap_done":
            out = acd.end_wrap_up(args[0], now)
        elif kind == "internal" and agents[args[0]].state in (
            AgentState.READY,
            AgentState.NOT_READY,
        ):
            out = acd.start_direct_call(args[0], now, CallKind.INTERNAL)
        elif kind == "wait":
            self.now += args[0]
            out = acd.tick(self.now)
        self.check(out)

    def check(self, out) -> None:
        acd, now = self.acd, self.now
        for item in out:
            if isinstance(item, OfferContact):
                self.check_offer(item)
            if isinstance(item, ContactFinished):
                self.finished.setdefault(item.contact_id, []).append(item.outcome)
        # an agent is never offered two contacts; offers and agent states agree
        holders: dict[str, str] = {}
        for cid, ringing in acd.offers.items():
            for agent_id in ringing:
                assert agent_id not in holders, f"{agent_id} offered {cid} and {holders[agent_id]}"
                holders[agent_id] = cid
                assert acd.agents[agent_id].state is AgentState.RESERVED
                assert acd.agents[agent_id].contact_id == cid
        for agent in acd.agents.values():
            if agent.state is AgentState.RESERVED:
                assert holders.get(agent.agent_id) == agent.contact_id
        # nothing waits while a qualified agent is ready (event-driven dispatch is complete)
        for queue, waiting in acd.waiting.items():
            policy = acd.policies[queue]
            for contact in waiting.values():
                if contact.offered_to:
                    continue
                _, relax = escalation(policy, now - contact.enqueued_at)
                need = required_levels(policy, contact, relax)
                for agent in acd.agents.values():
                    qualified = all(agent.skills.get(s, 0) >= lvl for s, lvl in need.items())
                    assert not (agent.state is AgentState.READY and qualified), (
                        f"{contact.contact_id} waits in {queue} while {agent.agent_id} is ready"
                    )

    def check_offer(self, offer: OfferContact) -> None:
        acd, now = self.acd, self.now
        contact = acd.contacts[offer.contact_id]
        policy = acd.policies[offer.queue]
        _, relax = escalation(policy, now - contact.enqueued_at)
        need = required_levels(policy, contact, relax)
        assert offer.explanation.required_levels == need
        for agent_id in offer.agent_ids:
            skills = acd.agents[agent_id].skills
            assert all(skills.get(s, 0) >= lvl for s, lvl in need.items()), (
                f"{agent_id} lacks {need} for {offer.contact_id}"
            )
        if offer.queue in STRICT:
            # no higher-priority contact of the queue was waiting for one of these agents
            for other in acd.waiting[offer.queue].values():
                if other is contact or other.offered_to - set(offer.agent_ids):
                    continue
                if other.priority > contact.priority and not other.offered_to:
                    _, r = escalation(policy, now - other.enqueued_at)
                    other_need = required_levels(policy, other, r)
                    for agent_id in offer.agent_ids:
                        skills = acd.agents[agent_id].skills
                        assert not all(skills.get(s, 0) >= lvl for s, lvl in other_need.items())


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(skill_levels, min_size=len(AGENTS), max_size=len(AGENTS)),
    st.lists(op, min_size=5, max_size=80),
)
def test_acd_invariants_hold_for_any_event_sequence(skills, ops):
    run = Run(skills)
    for spec in ops:
        run.apply(spec)
    # every contact ends exactly once: answered, abandoned or overflowed
    for cid in run.enqueued:
        run.check(run.acd.abandon(cid, run.now))
    for cid in run.enqueued:
        assert len(run.finished.get(cid, [])) == 1, (cid, run.finished.get(cid))
    assert not run.acd.contacts
