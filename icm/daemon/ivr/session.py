"""What runs on each outbound-socket call: answer, find the route, run the IVR flow (or
greet), hand the call to its queue with the flow's data, and keep the socket open while the
caller waits (music, announcements, the call-back key; the ACD takes over there).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
import gevent.queue
from django.conf import settings
from django.db import DatabaseError, connection

from agents.models import Agent
from icm.daemon.acd.waiting_callers import QueueExit, WaitingCallers
from icm.daemon.campaigns.messages import FlowAnswers
from icm.daemon.ivr.db_worker import DbWorker
from icm.daemon.ivr.place import WAITING_MARK, returning_contact
from icm.daemon.ivr.queue_wait import (
    LEAVE_MESSAGE,
    SORRY,
    QueueStatus,
    callback_goodbye,
    say,
    wait_in_queue,
)
from icm.daemon.ivr.voice import VoiceFrontend
from icm.daemon.ivr.voicemail import leave_voicemail
from icm.daemon.switch import CallGone, CallSession, CommandRefused
from icm.daemon.voicemail.entry import VOICEMAIL_VARIABLE
from icm.domain import commands as cmd
from icm.domain import events as ev
from icm.domain.acd.model import Contact
from icm.domain.routing_table import RoutingTable
from icm.routing_lookup import (
    GRADE_PRIORITY,
    CallerFacts,
    LiveRouting,
    built_in_connector,
    caller_facts,
    customer_priority,
)
from ivr.engine.effects import Finished
from ivr.engine.interpreter import FlowNotFound, Interpreter
from ivr.engine.nodes import flow_answers
from ivr.flow_source import DbFlows
from ivr.services import FlowServices
from outbound.dialling import transfer_refusal

log = logging.getLogger(__name__)


def make_ivr_app(
    switch: str,
    notify: Callable[[object], None],
    queue_status: QueueStatus | None = None,
    waiting: WaitingCallers | None = None,
    queue_metric: Callable[[str, str], float] | None = None,
    phone_code: Callable[[str, str], str] | None = None,
) -> type:
    """An application class for greenswitch's OutboundESLServer bound to one switch.

    A call whose inbound route names a flow runs it (ivr.engine through icm.daemon.ivr.voice);
    a routing rule or a route to a queue takes it straight to its queue after the greeting.
    `queue_status(contact_id)` gives (position, expected wait s, announce every s) while the
    caller waits unoffered, else None (R-9 announcements); `queue_metric(metric, queue)`
    answers flows' live ICM values; `phone_code(code, extension)` carries out an agent's
    feature code (*21 …, the dialplan's `ipbx_feature_code`) and gives the sentence to say.
    """
    flows = DbFlows(run_db=_lookups.run)
    sessions: dict[str, object] = {}  # channel uuid -> the session now in charge of it
    services = FlowServices(queue_metric or _no_metrics, run_db=_lookups.run)
    # a transfer leaving through the trunk passes the company's dialling rules (issue 18)
    interpreter = Interpreter(
        flows, lambda kind, target: _lookups.run(transfer_refusal, kind, target)
    )

    class IvrCall:
        def __init__(self, session: CallSession) -> None:
            self.session = session

        def run(self) -> None:
            session = self.session
            info = session.info
            uuid, call_uuid, dnis, ani = info.uuid, info.call_uuid, info.dnis, info.ani
            name = info.caller_name
            superseded = sessions.get(uuid)
            if superseded is not None:  # the caller came back (a transfer to a queue)
                superseded.superseded = True  # type: ignore[attr-defined]
            sessions[uuid] = self
            self.superseded = False
            try:
                session.keep_events()
                # lost with its socket (an icm crash), the caller goes on in the switch's
                # dialplan, which brings it back to the next icm (issue 21)
                session.api(cmd.KeepIfServerLost(uuid, True))
                transfer = _transfer_data(info.variables)
                if transfer is not None:
                    contact = _requeue(session, uuid, call_uuid, ani, transfer)
                    self.wait_and_leave(contact, Routing("", "", 0, "", ""))
                    return
                # back from a lost socket (a crashed icm's caller): its queue, its place; a
                # caller one of our own sessions holds was transferred back to us (to a
                # mailbox, a queue): its mark is that session's, not a lost one's
                lost = superseded is None
                kept = returning_contact(uuid, ani, info.variables) if lost else None
                if kept is not None:
                    log.info(
                        "call %s: back from a lost icm session: queue %s, waiting since %.0f",
                        call_uuid,
                        kept.queue,
                        kept.enqueued_at,
                    )
                    routing = Routing(kept.queue, kept.customer_id, kept.priority, "", "")
                    self.wait_and_leave(kept, routing)
                    return
                owner = info.variables.get(VOICEMAIL_VARIABLE, "")
                if owner:  # sent to a mailbox (icm.daemon.voicemail.entry)
                    session.execute(cmd.UnsetVar(VOICEMAIL_VARIABLE))
                    leave_voicemail(session, call_uuid, owner, (ani, name), _lookups.run, notify)
                    session.hangup()
                    return
                session.answer()
                code = info.variables.get("ipbx_feature_code", "")
                if code and phone_code is not None:
                    _feature_code(session, call_uuid, code, info.variables, phone_code)
                    return
                campaign_flow = info.variables.get("ipbx_campaign_flow", "")
                if campaign_flow:  # an agentless campaign's answered call: its flow only
                    routing = Routing("", "", 0, "", "", campaign_flow)
                else:
                    routing = _lookup_routing(dnis, ani)
                attached: dict[str, Any] = {"dnis": dnis, "call_uuid": call_uuid}
                queue, priority, skills = routing.queue, routing.priority, {}
                done = None
                if routing.flow:
                    variables = _call_variables(ani, dnis, name, routing)
                    voices = settings.IVR_TTS_VOICES
                    try:
                        done = VoiceFrontend(session, call_uuid, services, voices).run(
                            interpreter, routing.flow, variables
                        )
                    except FlowNotFound:  # a route to a flow never published: its queue
                        log.error(
                            "call %s: flow %s has no published version; queue %s",
                            call_uuid,
                            routing.flow,
                            routing.queue,
                        )
                if done is not None and campaign_flow:
                    notify(FlowAnswers(uuid, dict(done.variables)))
                if done is not None:
                    if done.action != "enter_queue":
                        _finish_call(session, call_uuid, done, notify)
                        return
                    queue, skills = done.params["queue"], done.params.get("skills") or {}
                    priority = max(priority, int(done.params.get("priority") or 0))
                    attached.update(ivr=done.variables, arrived="ivr", flow=routing.flow)
                    if done.params.get("after_call"):
                        attached["after_call"] = done.params["after_call"]
                # a route straight to a queue greets only with the queue's own greeting (R-9,
                # `greetings` {"default": …}): no fixed welcome delays every offer by its length
                greeting = routing.greeting
                if queue != routing.queue:
                    greeting = _lookups.run(_greeting, queue, routing.grade)
                if greeting:  # per-category greeting
                    log.info("call %s: greeting %s", call_uuid, greeting)
                    try:
                        session.playback(greeting, block=True)
                    except CommandRefused as exc:  # a misconfigured greeting: not played
                        log.error("call %s: greeting %r not played: %s", call_uuid, greeting, exc)
                contact = Contact(
                    contact_id=uuid,
                    queue=queue,
                    enqueued_at=time.time(),
                    priority=priority,
                    required_skills={str(k): int(v) for k, v in skills.items()},
                    ani=ani,
                    customer_id=routing.customer,
                    last_agent_id=routing.last_agent,
                    attached=attached,
                )
                self.wait_and_leave(contact, routing)
            except CallGone:
                log.info("call %s: caller left the IVR", call_uuid)
            except (Exception, gevent.Timeout):  # a stuck switch command times out too
                log.exception("call %s: IVR failed; hanging up", call_uuid)
                try:
                    session.hangup("NORMAL_TEMPORARY_FAILURE")
                except Exception:  # noqa: S110 - the call is already gone
                    pass
            finally:
                if sessions.get(uuid) is self:
                    del sessions[uuid]

        def wait_and_leave(self, contact: Contact, routing: Routing) -> None:
            """The caller waits in its queue until an agent takes it or it leaves; a way
            out the ACD chose is carried here (a flow may lead into another queue), and so
            is the flow the caller goes back to when the agent hangs up (AG-7)."""
            session, info = self.session, self.session.info
            while True:
                exit_ = wait_in_queue(
                    session,
                    switch,
                    notify,
                    contact,
                    info.call_uuid,
                    queue_status,
                    waiting,
                    self,
                    str(contact.attached.get("after_call") or ""),
                )
                if exit_ is None:
                    return
                session.execute(cmd.UnsetVar(WAITING_MARK))  # out of the queue: no place kept
                if exit_.kind not in ("flow", "after_call"):
                    _carry_exit(session, info.call_uuid, exit_, notify)
                    return
                log.info(
                    "call %s: from queue %s to flow %s (%s)",
                    info.call_uuid,
                    exit_.queue,
                    exit_.target,
                    exit_.kind,
                )
                variables = _call_variables(info.ani, info.dnis, info.caller_name, routing)
                voices = settings.IVR_TTS_VOICES
                try:
                    done = VoiceFrontend(session, info.call_uuid, services, voices).run(
                        interpreter, exit_.target, variables
                    )
                except FlowNotFound:
                    log.error("call %s: flow %s is not published", info.call_uuid, exit_.target)
                    if exit_.kind == "after_call":  # the call with the agent is over: no apology
                        session.hangup("NORMAL_CLEARING")
                    else:
                        _carry_exit(session, info.call_uuid, replace(exit_, kind="hangup"), notify)
                    return
                if exit_.kind == "after_call":
                    answers = flow_answers(done.variables)
                    notify(ev.CallSurveyed(switch, info.call_uuid, exit_.target, answers))
                    log.info("call %s: flow %s answered %s", info.call_uuid, exit_.target, answers)
                if done.action != "enter_queue":
                    _finish_call(session, info.call_uuid, done, notify)
                    return
                contact = replace(
                    contact,
                    queue=done.params["queue"],
                    enqueued_at=time.time(),
                    required_skills={
                        str(k): int(v) for k, v in (done.params.get("skills") or {}).items()
                    },
                    offered_to=frozenset(),
                    declined_by=set(),
                    attached={
                        **contact.attached,
                        "ivr": done.variables,
                        "flow": exit_.target,
                        "after_call": done.params.get("after_call", ""),
                    },
                )

    return IvrCall


def _transfer_data(variables: Mapping[str, str]) -> dict[str, Any] | None:
    """What an agent's transfer to a queue left on the channel (icm.daemon.acd.agent_calls)."""
    queue = variables.get("ipbx_transfer_queue") or ""
    if not queue:
        return None
    try:
        details = json.loads(base64.b64decode(variables.get("ipbx_transfer") or "e30="))
    except ValueError:
        details = {}
    return {
        "queue": queue,
        "from": str(details.get("from", "")),
        "note": str(details.get("note", ""))[:1000],
    }


def _requeue(
    session: CallSession, uuid: str, call_uuid: str, ani: str, transfer: dict[str, Any]
) -> Contact:
    """A caller an agent transferred to a queue: straight back in, with the note."""
    session.execute(cmd.UnsetVar("ipbx_transfer_queue"))  # a later transfer starts clean
    session.execute(cmd.UnsetVar("ipbx_transfer"))
    customer, _priority = _lookups.run(customer_priority, ani)
    contact = Contact(
        contact_id=uuid,
        queue=transfer["queue"],
        enqueued_at=time.time(),
        ani=ani,
        customer_id=customer,
        attached={
            "call_uuid": call_uuid,
            "arrived": "transferred",
            "transferred_from": transfer["from"],
            "transfer_note": transfer["note"],
            # the flow the caller first entered with still runs after its new agent (AG-7)
            "after_call": session.info.variables.get("ipbx_after_call", ""),
        },
    )
    log.info(
        "call %s: transferred by agent %s to queue %s",
        call_uuid,
        transfer["from"],
        transfer["queue"],
    )
    return contact


def _no_metrics(metric: str, queue: str) -> float:
    raise LookupError("no live ICM values here")


def _call_variables(ani: str, dnis: str, name: str, routing: Routing) -> dict[str, Any]:
    """What a flow knows about the call when it starts (IVR-6)."""
    now = datetime.now(tz=UTC)
    return {
        "ani": ani,
        "dnis": dnis,
        "caller_name": name,
        "customer_account": routing.customer,
        "customer_grade": routing.grade,
        "language": "en",
        "now_hour": now.hour,
        "weekday": now.weekday(),
    }


APOLOGY = "We are sorry, that person cannot be reached. Goodbye."


def _agent_extension(login_id: str) -> str:
    return (
        Agent.objects.filter(login_id=login_id, active=True, extension__isnull=False)
        .values_list("extension__number", flat=True)
        .first()
        or ""
    )


def _feature_code(
    session: CallSession,
    call_uuid: str,
    code: str,
    variables: Mapping[str, str],
    phone_code: Callable[[str, str], str],
) -> None:
    """An agent's feature code from its desk phone: done, said, hung up."""
    extension = variables.get("ipbx_caller_extension", "")
    said = phone_code(code, extension)
    engine, _, voice = settings.IVR_TTS_VOICES.get("default", "flite|kal").partition("|")
    log.info("call %s: feature code *2%s from %s: %s", call_uuid, code, extension, said)
    session.execute(cmd.Speak(engine, voice, said), block=True, timeout=30)
    session.hangup()


def _finish_call(
    session: CallSession, call_uuid: str, done: Finished, notify: Callable[[object], None]
) -> None:
    """A flow that ended other than in a queue: transfer, voicemail or hang up."""
    if done.action == "transfer":
        # base64 of the JSON: nothing in it can be read as an argument or expanded
        data = json.dumps(done.variables, separators=(",", ":"), default=str).encode()
        if len(data) <= 8192:
            session.execute(
                cmd.SetVar("ipbx_ivr_data", base64.b64encode(data).decode(), export=True)
            )
        else:
            log.warning("call %s: IVR data over 8 KiB not exported with the transfer", call_uuid)
        # transferred, the caller leaves icm's hands: a lost socket must not reset it
        session.api(cmd.KeepIfServerLost(session.info.uuid, False))
        target = done.params["target"]
        if done.params["kind"] == "agent":
            extension = _lookups.run(_agent_extension, target)
            if not extension:
                log.warning(
                    "call %s: IVR transfer to agent %s: no such agent with a phone",
                    call_uuid,
                    target,
                )
                session.execute(cmd.Speak("flite", "kal", APOLOGY), block=True, timeout=30)
                session.hangup("UNALLOCATED_NUMBER")
                return
            target = extension
        log.info("call %s: IVR transfer to %s %s", call_uuid, done.params["kind"], target)
        session.execute(cmd.Transfer(target, "default"))
        # Keep the socket until the call ends: closing it first would end the transferred
        # call (FreeSWITCH hangs up a socket-app channel whose application server leaves).
        while session.up:
            gevent.sleep(0.5)
        return
    if done.action == "voicemail":  # IVR-7: filed in the mailbox, its owner's phone lit
        seconds = int(done.params.get("max_seconds") or 0)
        caller = (session.info.ani, session.info.caller_name)
        owner = str(done.params["mailbox"])
        leave_voicemail(session, call_uuid, owner, caller, _lookups.run, notify, seconds, True)
    cause = str(done.params.get("cause") or "NORMAL_CLEARING")
    session.hangup(cause if re.fullmatch(r"[A-Z][A-Z_]{2,40}", cause) else "NORMAL_CLEARING")


def _carry_exit(
    session: CallSession, call_uuid: str, exit_: QueueExit, notify: Callable[[object], None]
) -> None:
    """The caller leaves its queue without an agent, other than into a flow: told where it
    goes, then taken there (R-7): a call-back goodbye, voicemail, a transfer, or a goodbye
    (never a silent hang-up)."""
    log.info("call %s: leaves queue %s for %s %s", call_uuid, exit_.queue, exit_.kind, exit_.target)
    match exit_.kind:
        case "callback":
            callback_goodbye(session, call_uuid, exit_.target)
        case "voicemail":
            say(session, LEAVE_MESSAGE)
            mailbox = exit_.target or exit_.queue
            _finish_call(session, call_uuid, Finished("voicemail", {"mailbox": mailbox}), notify)
        case "extension" | "number":
            params = {"kind": exit_.kind, "target": exit_.target}
            _finish_call(session, call_uuid, Finished("transfer", params), notify)
        case _:
            say(session, SORRY)
            session.hangup("NORMAL_CLEARING")


def _lookup_routing(dnis: str, ani: str) -> Routing:
    """Queue, customer, priority, last agent and greeting for a call (R-3, R-4, R-8, R-9).
    A look-up that waited too long (the database workers swamped or stuck) routes the call
    by the last routing table, without customer data, rather than hanging the caller up."""
    try:
        return _lookups.run(_routing_query, dnis, ani)
    except gevent.Timeout:
        log.warning("caller %s: routing look-up too slow; routed by the last routing table", ani)
        return _route(_routing.last(), CallerFacts(0), dnis, ani)


def _routing_query(dnis: str, ani: str) -> Routing:
    """One statement per call (the configuration's version, the caller's customer and last
    agent); while the database is away, the last routing table and no customer data."""
    try:
        facts = caller_facts(ani)
    except DatabaseError as exc:
        log.warning("caller %s: routing look-up failed (%s); last routing table", ani, exc)
        connection.close()
        return _route(_routing.last(), CallerFacts(0), dnis, ani)
    return _route(_routing.current(facts.version), facts, dnis, ani)


def _greeting(queue: str, grade: str) -> str:
    return _routing.current().greeting(queue, grade)


def _route(table: RoutingTable, facts: CallerFacts, dnis: str, ani: str) -> Routing:
    queue, _why, flow = table.route(dnis, ani, datetime.now(tz=UTC))  # a rule's call: no flow
    if built_in_connector():
        customer, grade = facts.account, facts.grade or "standard"
        priority = GRADE_PRIORITY.get(grade, 0)
    elif facts.version:  # the database answered: the plugged-in connector is asked too
        customer, priority = customer_priority(ani)
        grade = next((g for g, p in GRADE_PRIORITY.items() if p == priority), "standard")
    else:
        customer, priority, grade = "", 0, "standard"
    greeting = table.greeting(queue, grade)
    return Routing(queue, customer, priority, facts.last_agent, greeting, flow, grade)


@dataclass(frozen=True, slots=True)
class Routing:
    queue: str
    customer: str
    priority: int
    last_agent: str
    greeting: str
    flow: str = ""  # the IVR flow to run first ("" : straight to the queue)
    grade: str = "standard"


_lookups = DbWorker()  # bounded: icm.daemon.ivr.db_worker
_routing = LiveRouting()  # asked on the database workers only
