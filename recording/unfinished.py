"""Recordings the switch is writing (LiveRecording rows, written by icm when it starts one) and
their way into the catalogue: a finished recording becomes a Recording row (status processing:
recording.catalogue measures and converts it) built from what icm knew, the persisted start and
the call's CDR, in that order; its LiveRecording row goes. A recording whose leg ended while no
icm listened (its RECORD_STOP lost) is catalogued by `settle_orphans` once the CDRs say the leg
is gone. Idempotent: a (switch, path) is catalogued once; a later finish leaves it as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction

from agents.models import Agent
from icm.models import Call, CallLeg, Customer, Queue
from recording.models import LiveRecording, Recording

log = logging.getLogger(__name__)

ORPHAN_GRACE = timedelta(seconds=30)  # icm's own RECORD_STOP (same persister) lands well before
ORPHAN_CAUSE = "leg-gone-unseen"
SWITCH_POLICY = "recorded on the switch"  # a recording no icm started


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def live_as_row(live: LiveRecording) -> dict[str, Any]:
    """A LiveRecording as the recorder's row (read by icm.daemon.recording.recorder)."""
    return {
        "switch": live.switch,
        "path": live.path,
        "call_uuid": live.call_uuid,
        "leg_uuid": live.leg_uuid,
        "agent": live.agent,
        "queue": live.queue,
        "customer": live.customer,
        "ani": live.ani,
        "dnis": live.dnis,
        "policy": live.policy,
        "format": live.format,
        "stereo": live.stereo,
        "retention_days": live.retention_days,
        "started": live.started_at.timestamp(),
        "paused": live.paused_seconds,
        "paused_at": _ts(live.paused_at),
    }


def save_started(rows: list[dict[str, Any]]) -> None:
    """Persist recordings icm just started (again after a retry: the same row)."""
    objects = [
        LiveRecording(
            switch=r["switch"],
            path=r["path"][:500],
            call_uuid=r["call_uuid"],
            leg_uuid=r["leg_uuid"],
            agent=r["agent"][:64],
            queue=r["queue"][:64],
            customer=r["customer"][:64],
            ani=r["ani"][:64],
            dnis=r["dnis"][:64],
            policy=r["policy"][:120],
            format=r["format"],
            stereo=r["stereo"],
            retention_days=r["retention_days"],
            started_at=datetime.fromtimestamp(r["started"], tz=UTC),
        )
        for r in rows
    ]
    LiveRecording.objects.bulk_create(objects, ignore_conflicts=True)


def save_paused(rows: list[dict[str, Any]]) -> None:
    """The paused time so far of recordings still being written."""
    for r in rows:
        paused_at = r.get("paused_at")
        LiveRecording.objects.filter(switch=r["switch"], path=r["path"]).update(
            paused_seconds=r["paused"],
            paused_at=datetime.fromtimestamp(paused_at, tz=UTC) if paused_at else None,
        )


# what a finished row holds when neither icm nor a persisted start knew better
_UNKNOWN = {
    "call_uuid": "",
    "agent": "",
    "queue": "",
    "customer": "",
    "ani": "",
    "dnis": "",
    "policy": "",
    "format": "pcm",
    "channels": None,
    "started": None,
    "paused": 0.0,
    "retention_days": None,
}


def _merge(row: dict[str, Any], live: LiveRecording | None) -> dict[str, Any]:
    """What icm knew wins; for a recording it did not know, the persisted start wins over
    what the switch's event said."""
    row = {**_UNKNOWN, **row}
    if live is None:
        return row
    start = live_as_row(live)
    ended = row["ended"]
    paused = start["paused"] + (ended - start["paused_at"] if start["paused_at"] else 0.0)
    start.update(paused=round(max(0.0, paused), 3), channels=2 if live.stereo else 1)
    if row.get("known", True):
        return {**start, **{k: v for k, v in row.items() if v not in ("", None)}}
    return {**row, **{k: v for k, v in start.items() if v not in ("", None)}}


def _from_cdrs(rows: list[dict[str, Any]]) -> None:
    """Fill a recording's call, numbers, agent and queue from its leg's CDR where the row
    lacks them (a recording icm did not start)."""
    wanted = [
        r
        for r in rows
        if not r.get("known", True) and not (r["call_uuid"] and r["agent"] and r["ani"])
    ]
    if not wanted:
        return
    legs = {
        (leg.switch.name, leg.uuid): leg
        for leg in CallLeg.objects.filter(
            switch__name__in={r["switch"] for r in wanted},
            uuid__in={r["leg_uuid"] for r in wanted},
        ).select_related("switch", "call__agent", "call__queue", "call__customer")
    }
    for r in wanted:
        leg = legs.get((r["switch"], r["leg_uuid"]))
        if leg is None:
            continue
        call = leg.call
        r["call_uuid"] = call.call_uuid
        r["ani"] = call.ani or r["ani"]
        r["dnis"] = call.dnis or r["dnis"]
        r["agent"] = r["agent"] or (call.agent.login_id if call.agent else "")
        r["queue"] = r["queue"] or (call.queue.name if call.queue else "")
        r["customer"] = r["customer"] or (call.customer.account if call.customer else "")


def catalogue(rows: list[dict[str, Any]]) -> int:
    """Catalogue finished recordings (status processing) and forget their LiveRecording rows.
    A (switch, path) already catalogued is left as it is. Returns the rows given."""
    if not rows:
        return 0
    with transaction.atomic():
        lives = {
            (live.switch, live.path): live
            for live in LiveRecording.objects.select_for_update().filter(
                switch__in={r["switch"] for r in rows}, path__in={r["path"] for r in rows}
            )
        }
        # an orphan whose start is gone was catalogued meanwhile (icm saw its RECORD_STOP)
        rows = [
            _merge(r, lives.get((r["switch"], r["path"])))
            for r in rows
            if not r.get("orphan") or (r["switch"], r["path"]) in lives
        ]
        _from_cdrs(rows)
        agents = dict(
            Agent.objects.filter(login_id__in={r["agent"] for r in rows if r["agent"]}).values_list(
                "login_id", "id"
            )
        )
        queues = dict(
            Queue.objects.filter(name__in={r["queue"] for r in rows if r["queue"]}).values_list(
                "name", "id"
            )
        )
        customers = dict(
            Customer.objects.filter(
                account__in={r["customer"] for r in rows if r["customer"]}
            ).values_list("account", "id")
        )
        calls = dict(
            Call.objects.filter(
                switch__name__in={r["switch"] for r in rows},
                call_uuid__in={r["call_uuid"] for r in rows if r["call_uuid"]},
            ).values_list("call_uuid", "id")
        )
        objects = []
        for r in rows:
            started = r["started"] if r["started"] is not None else r["ended"]
            objects.append(
                Recording(
                    switch=r["switch"],
                    call_uuid=r["call_uuid"] or r["leg_uuid"],
                    leg_uuid=r["leg_uuid"],
                    call_id=calls.get(r["call_uuid"]),
                    ani=r["ani"][:64],
                    dnis=r["dnis"][:64],
                    agent_id=agents.get(r["agent"]),
                    queue_id=queues.get(r["queue"]),
                    customer_id=customers.get(r["customer"]),
                    policy=(r["policy"] or SWITCH_POLICY)[:120],
                    started_at=datetime.fromtimestamp(started, tz=UTC),
                    ended_at=datetime.fromtimestamp(r["ended"], tz=UTC),
                    paused_seconds=r["paused"],
                    format=r["format"],
                    channels=r["channels"] or 1,  # measured from the file when processed
                    path=r["path"][:500],
                    status=Recording.Status.PROCESSING,
                    retention_days=r["retention_days"],
                )
            )
        Recording.objects.bulk_create(objects, ignore_conflicts=True)
        for live in lives.values():
            live.delete()
    return len(objects)


def settle_orphans(now: datetime | None = None, grace: timedelta = ORPHAN_GRACE) -> int:
    """Catalogue the recordings whose leg the CDRs show ended more than `grace` ago while
    no icm saw their RECORD_STOP (it was down, or away from the switch). Returns how many."""
    now = now or datetime.now(tz=UTC)
    lives = list(LiveRecording.objects.all()[:500])
    if not lives:
        return 0
    ended = {
        (switch, uuid): at
        for switch, uuid, at in CallLeg.objects.filter(
            uuid__in={live.leg_uuid for live in lives}, hungup_at__lt=now - grace
        ).values_list("switch__name", "uuid", "hungup_at")
    }
    rows = [
        {
            "kind": "finished",
            "known": False,
            "orphan": True,
            "switch": live.switch,
            "path": live.path,
            "leg_uuid": live.leg_uuid,
            "ended": at.timestamp(),
            "cause": ORPHAN_CAUSE,
        }
        for live in lives
        if (at := ended.get((live.switch, live.leg_uuid))) is not None
    ]
    if rows:
        log.warning(
            "recordings whose legs ended unseen by icm, catalogued: %s",
            ", ".join(r["path"] for r in rows),
        )
    return catalogue(rows)


def active_on(switch: str) -> Iterable[dict[str, Any]]:
    """The recordings being written on `switch`, as the recorder's rows."""
    return [live_as_row(live) for live in LiveRecording.objects.filter(switch=switch)]
