"""Persistence of icm's live state: CDR upserts (Call, CallLeg), switch status, restart seed.

Used only by the icm daemon's writer greenlet. Writes are batched and coalesced: for a call
changed ten times in one batch, one row is written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from agents import callback_retry
from agents.models import Agent, AgentStateChange, ScheduledCallback
from icm.domain.acd.agent_fsm import AgentStateChanged
from icm.domain.calls import CallDirection, CallRecord, LegRecord, LegState
from icm.models import Call, Queue, Site, Switch

log = logging.getLogger(__name__)


def ensure_switch(name: str, host: str, port: int) -> Switch:
    """The Switch row for `name`, created (on a default site) when missing."""
    switch = Switch.objects.filter(name=name).first()
    if switch is None:
        site, _ = Site.objects.get_or_create(
            code="default", defaults={"name": "Default site", "sip_domain": "ipbx.local"}
        )
        switch = Switch.objects.create(site=site, name=name, esl_host=host, esl_port=port)
    elif (switch.esl_host, switch.esl_port) != (host, port):
        Switch.objects.filter(pk=switch.pk).update(esl_host=host, esl_port=port)
    return switch


def set_switch_status(name: str, connected: bool, at: datetime) -> None:
    status = Switch.Status.CONNECTED if connected else Switch.Status.DISCONNECTED
    Switch.objects.filter(name=name).update(status=status, status_changed_at=at)


CALLBACK_RETRY_SECONDS = 60


def save_callback_outcomes(outcomes: list[tuple[Any, ...]], now: datetime) -> None:
    """What became of booked call-backs icm took (icm.daemon.callbacks.booked), as
    (callback, outcome, detail[, attempt, at]): `queued` (it waits in its queue), `missed`
    (the agent did not take it: pending again, asked again by Celery in a minute), or a
    dial of the customer — `dialling`, then `answered` / `no_answer` / `busy` / `failed`
    (agents.callback_retry applies the call-back's retry rule); `caller_<outcome>` with
    (…, {queue, number, leg}): a caller's own call-back from its queue went unanswered."""
    from datetime import timedelta

    for callback, outcome, detail, *rest in outcomes:
        if str(outcome).startswith("caller_") and len(rest) > 2 and isinstance(rest[2], dict):
            at = datetime.fromtimestamp(float(rest[1]), tz=UTC)
            dial = rest[2]
            callback_retry.do_book_unanswered_caller(
                str(dial.get("queue", "")),
                str(dial.get("number", "")),
                str(dial.get("leg", "")),
                str(outcome).removeprefix("caller_"),
                detail,
                at,
            )
            continue
        if not str(callback).isdigit():
            continue
        pk = int(callback)
        attempt = int(rest[0]) if rest and str(rest[0]).isdigit() else 0
        at = datetime.fromtimestamp(float(rest[1]), tz=UTC) if len(rest) > 1 else now
        rows = ScheduledCallback.objects.filter(pk=pk)
        if outcome == "dialling":
            callback_retry.do_start_attempt(pk, attempt, detail, at)
        elif outcome in callback_retry.DIAL_OUTCOMES:
            callback_retry.do_score_attempt(pk, attempt, outcome, detail, at)
        elif outcome == "missed":
            rows.filter(status=ScheduledCallback.Status.RINGING).update(
                status=ScheduledCallback.Status.PENDING,
                last_error=detail[:300],
                next_attempt_at=now + timedelta(seconds=CALLBACK_RETRY_SECONDS),
            )
        elif outcome == "queued":  # its dial's outcome follows when an agent takes it
            rows.filter(status=ScheduledCallback.Status.RINGING).update(dispatched_to="queue")
        else:  # "done" from an icm of before issue 20
            rows.exclude(status=ScheduledCallback.Status.CANCELLED).update(
                status=ScheduledCallback.Status.DONE, last_error=""
            )


class CdrStore:
    """Upserts CallRecords into Call / CallLeg."""

    def __init__(self) -> None:
        self._switch_ids: dict[str, int] = {}
        self._queue_ids: dict[str, int | None] = {}
        self._agent_ids: dict[str, int | None] = {}

    def _switch_id(self, name: str) -> int:
        if name not in self._switch_ids:
            self._switch_ids[name] = Switch.objects.only("id").get(name=name).id
        return self._switch_ids[name]

    def _agent_id(self, login_id: str) -> int | None:
        if not login_id:
            return None
        if login_id not in self._agent_ids:
            agent = Agent.objects.filter(login_id=login_id).only("id").first()
            self._agent_ids[login_id] = agent.id if agent else None
        return self._agent_ids[login_id]

    def _queue_id(self, name: str) -> int | None:
        if not name:
            return None
        if name not in self._queue_ids:
            queue = Queue.objects.filter(name=name).only("id").first()
            self._queue_ids[name] = queue.id if queue else None
        return self._queue_ids[name]

    def write(self, records: Iterable[CallRecord]) -> int:
        """Persist the latest state of each call; returns the number of calls written.

        Two set-based statements per batch (calls, then legs): `INSERT … SELECT unnest(…)
        ON CONFLICT DO UPDATE`. The ORM's bulk_create did the same with ~10x the CPU.
        """
        latest: dict[tuple[str, str], CallRecord] = {}
        for rec in records:
            latest[(rec.switch, rec.call_uuid)] = rec
        if not latest:
            return 0
        calls = list(latest.values())
        call_columns = [
            [self._switch_id(r.switch) for r in calls],
            [r.call_uuid for r in calls],
            [str(r.direction) for r in calls],
            [r.ani[:64] for r in calls],
            [r.caller_name[:128] for r in calls],
            [r.dnis[:64] for r in calls],
            [str(r.state) for r in calls],
            [r.created_at for r in calls],
            [r.answered_at for r in calls],
            [r.bridged_at for r in calls],
            [r.ended_at for r in calls],
            [r.hangup_cause[:64] for r in calls],
            [self._queue_id(r.queue) for r in calls],
            [self._agent_id(r.agent) for r in calls],
            [json.dumps(_attached(r)) for r in calls],
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_UPSERT_CALLS, call_columns)
            ids = {(switch_id, uuid): pk for pk, switch_id, uuid in cursor.fetchall()}
            legs = [
                (ids[(self._switch_id(r.switch), r.call_uuid)], self._switch_id(r.switch), leg)
                for r in calls
                for leg in r.legs
            ]
            if legs:
                cursor.execute(_UPSERT_LEGS, _leg_columns(legs))
        return len(calls)

    def load_live(self, switch: str) -> list[CallRecord]:
        """Calls this switch had live when icm last ran (to rebuild state after a restart)."""
        records = []
        live = (
            Call.objects.filter(switch__name=switch, ended_at__isnull=True)
            .select_related("queue", "agent")
            .prefetch_related("legs")
        )
        for call in live:
            legs = tuple(
                LegRecord(
                    uuid=leg.uuid,
                    direction=leg.direction,
                    channel_name=leg.channel_name,
                    ani=leg.ani,
                    dnis=leg.dnis,
                    state=LegState(leg.state) if leg.state != "held" else LegState.ANSWERED,
                    created_at=leg.created_at,
                    answered_at=leg.answered_at,
                    bridged_at=leg.bridged_at,
                    hungup_at=leg.hungup_at,
                    hangup_cause=leg.hangup_cause,
                    other_leg_uuid=leg.other_leg_uuid,
                    held=leg.state == "held",
                )
                for leg in call.legs.all()
            )
            records.append(
                CallRecord(
                    switch=switch,
                    call_uuid=call.call_uuid,
                    direction=CallDirection(call.direction),
                    ani=call.ani,
                    caller_name=call.caller_name,
                    dnis=call.dnis,
                    state=LegState(call.state),
                    created_at=call.created_at,
                    answered_at=call.answered_at,
                    bridged_at=call.bridged_at,
                    ended_at=None,
                    hangup_cause=call.hangup_cause,
                    queue=call.queue.name if call.queue_id else "",
                    legs=legs,
                    agent=call.agent.login_id if call.agent_id else "",
                )
            )
        return records


def _leg_columns(legs: list[tuple[int, int, LegRecord]]) -> list[list]:
    return [
        [call_id for call_id, _, _ in legs],
        [switch_id for _, switch_id, _ in legs],
        [leg.uuid for _, _, leg in legs],
        [leg.channel_name[:255] for _, _, leg in legs],
        [
            leg.direction if leg.direction in ("inbound", "outbound") else "inbound"
            for _, _, leg in legs
        ],
        [leg.ani[:64] for _, _, leg in legs],
        [leg.dnis[:64] for _, _, leg in legs],
        [str(LegState.HELD if leg.held else leg.state) for _, _, leg in legs],
        [leg.other_leg_uuid for _, _, leg in legs],
        [leg.created_at for _, _, leg in legs],
        [leg.answered_at for _, _, leg in legs],
        [leg.bridged_at for _, _, leg in legs],
        [leg.hungup_at for _, _, leg in legs],
        [leg.hangup_cause[:64] for _, _, leg in legs],
    ]


_UPSERT_CALLS = """
INSERT INTO icm_call (switch_id, call_uuid, direction, ani, caller_name, dnis, state,
                      created_at, answered_at, bridged_at, ended_at, hangup_cause, queue_id,
                      agent_id, attached_data)
SELECT * FROM unnest(
    %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
    %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::text[],
    %s::bigint[], %s::bigint[], %s::jsonb[])
ON CONFLICT (switch_id, call_uuid) DO UPDATE SET
    direction = EXCLUDED.direction, ani = EXCLUDED.ani, caller_name = EXCLUDED.caller_name,
    dnis = EXCLUDED.dnis, state = EXCLUDED.state, created_at = EXCLUDED.created_at,
    answered_at = EXCLUDED.answered_at, bridged_at = EXCLUDED.bridged_at,
    ended_at = EXCLUDED.ended_at, hangup_cause = EXCLUDED.hangup_cause,
    queue_id = COALESCE(EXCLUDED.queue_id, icm_call.queue_id),
    agent_id = COALESCE(EXCLUDED.agent_id, icm_call.agent_id),
    attached_data = icm_call.attached_data || EXCLUDED.attached_data
RETURNING id, switch_id, call_uuid
"""

_UPSERT_LEGS = """
INSERT INTO icm_callleg (call_id, switch_id, uuid, channel_name, direction, ani, dnis, state,
                         other_leg_uuid, created_at, answered_at, bridged_at, hungup_at,
                         hangup_cause)
SELECT * FROM unnest(
    %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
    %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[],
    %s::timestamptz[], %s::text[])
ON CONFLICT (switch_id, uuid) DO UPDATE SET
    call_id = EXCLUDED.call_id, channel_name = EXCLUDED.channel_name,
    direction = EXCLUDED.direction, ani = EXCLUDED.ani, dnis = EXCLUDED.dnis,
    state = EXCLUDED.state, other_leg_uuid = EXCLUDED.other_leg_uuid,
    created_at = EXCLUDED.created_at, answered_at = EXCLUDED.answered_at,
    bridged_at = EXCLUDED.bridged_at, hungup_at = EXCLUDED.hungup_at,
    hangup_cause = EXCLUDED.hangup_cause
"""


def write_agent_changes(switch: str, changes: list[AgentStateChanged]) -> int:
    """Append AgentStateChange rows (the agent state log) for a batch of transitions."""
    if not changes:
        return 0
    agent_ids = dict(
        Agent.objects.filter(login_id__in={c.agent_id for c in changes}).values_list(
            "login_id", "id"
        )
    )
    switch_id = Switch.objects.filter(name=switch).values_list("id", flat=True).first()
    rows = [
        AgentStateChange(
            agent_id=agent_ids[c.agent_id],
            switch_id=switch_id,
            at=datetime.fromtimestamp(c.at, tz=UTC),
            from_state=str(c.from_state),
            to_state=str(c.to_state),
            reason=c.reason[:64],
            trigger=c.trigger[:32],
            call_uuid=c.contact_id[:64],
        )
        for c in changes
        if c.agent_id in agent_ids
    ]
    AgentStateChange.objects.bulk_create(rows, ignore_conflicts=True)  # a replay skips
    return len(rows)


def _attached(record: CallRecord) -> dict[str, Any]:
    """The call's attached data: the routing explanation and what the IVR gathered."""
    data: dict[str, Any] = {}
    if record.routing:
        data["routing"] = record.routing
    if record.ivr:
        data["ivr"] = record.ivr
    if record.survey:
        data["survey"] = record.survey
    return data
