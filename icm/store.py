"""Persistence of icm's live state: CDR upserts (Call, CallLeg), switch status, restart seed.

Used only by the icm daemon's writer greenlet. Writes are batched and coalesced: for a call
changed ten times in one batch, one row is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from icm.domain.calls import CallDirection, CallRecord, LegRecord, LegState
from icm.models import Call, CallLeg, Queue, Site, Switch

log = logging.getLogger(__name__)

CALL_FIELDS = [
    "direction",
    "ani",
    "caller_name",
    "dnis",
    "state",
    "created_at",
    "answered_at",
    "bridged_at",
    "ended_at",
    "hangup_cause",
    "queue",
]
LEG_FIELDS = [
    "call",
    "channel_name",
    "direction",
    "ani",
    "dnis",
    "state",
    "other_leg_uuid",
    "created_at",
    "answered_at",
    "bridged_at",
    "hungup_at",
    "hangup_cause",
]


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


class CdrStore:
    """Upserts CallRecords into Call / CallLeg."""

    def __init__(self) -> None:
        self._switch_ids: dict[str, int] = {}
        self._queue_ids: dict[str, int | None] = {}

    def _switch_id(self, name: str) -> int:
        if name not in self._switch_ids:
            self._switch_ids[name] = Switch.objects.only("id").get(name=name).id
        return self._switch_ids[name]

    def _queue_id(self, name: str) -> int | None:
        if not name:
            return None
        if name not in self._queue_ids:
            queue = Queue.objects.filter(name=name).only("id").first()
            self._queue_ids[name] = queue.id if queue else None
        return self._queue_ids[name]

    def write(self, records: Iterable[CallRecord]) -> int:
        """Persist the latest state of each call; returns the number of calls written."""
        latest: dict[tuple[str, str], CallRecord] = {}
        for rec in records:
            latest[(rec.switch, rec.call_uuid)] = rec
        if not latest:
            return 0
        calls = [
            Call(
                switch_id=self._switch_id(rec.switch),
                call_uuid=rec.call_uuid,
                direction=str(rec.direction),
                ani=rec.ani[:64],
                caller_name=rec.caller_name[:128],
                dnis=rec.dnis[:64],
                state=str(rec.state),
                created_at=rec.created_at,
                answered_at=rec.answered_at,
                bridged_at=rec.bridged_at,
                ended_at=rec.ended_at,
                hangup_cause=rec.hangup_cause[:64],
                queue_id=self._queue_id(rec.queue),
            )
            for rec in latest.values()
        ]
        with transaction.atomic():
            saved = Call.objects.bulk_create(
                calls,
                update_conflicts=True,
                unique_fields=["switch", "call_uuid"],
                update_fields=CALL_FIELDS,
            )
            legs = [
                _leg_row(call, leg)
                for call, rec in zip(saved, latest.values(), strict=True)
                for leg in rec.legs
            ]
            if legs:
                CallLeg.objects.bulk_create(
                    legs,
                    update_conflicts=True,
                    unique_fields=["switch", "uuid"],
                    update_fields=LEG_FIELDS,
                )
        return len(calls)

    def load_live(self, switch: str) -> list[CallRecord]:
        """Calls this switch had live when icm last ran (to rebuild state after a restart)."""
        records = []
        live = (
            Call.objects.filter(switch__name=switch, ended_at__isnull=True)
            .select_related("queue")
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
                )
            )
        return records


def _leg_row(call: Call, leg: LegRecord) -> CallLeg:
    state = LegState.HELD if leg.held else leg.state
    return CallLeg(
        call_id=call.pk,
        switch_id=call.switch_id,
        uuid=leg.uuid,
        channel_name=leg.channel_name[:255],
        direction=leg.direction if leg.direction in ("inbound", "outbound") else "inbound",
        ani=leg.ani[:64],
        dnis=leg.dnis[:64],
        state=str(state),
        other_leg_uuid=leg.other_leg_uuid,
        created_at=leg.created_at,
        answered_at=leg.answered_at,
        bridged_at=leg.bridged_at,
        hungup_at=leg.hungup_at,
        hangup_cause=leg.hangup_cause[:64],
    )
