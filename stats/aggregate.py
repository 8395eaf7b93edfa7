"""The aggregation (ST-3): the dirty 15-minute windows recomputed from the facts, then the
local days holding them recomputed from their 15-minute rows — set-based SQL, one
transaction, under an advisory lock.

- **Idempotent**: a window's rows are deleted and rebuilt from the facts, so running again
  (or a second worker, which waits for the lock and then finds nothing dirty) changes
  nothing.
- **Late-event safe**: inserting a fact marks its window dirty in the same transaction
  (migration 0003's triggers); the next run rebuilds it and its day.
- **Rebuild**: `mark_range` marks every window of a date range dirty (`manage.py
  stats_rebuild`), so a changed definition or a restored backup is re-aggregated.

Definitions (documented in docs/stats.md): a contact counts in the window it **entered** its
queue; offered = every contact; answered within the service level = answered with a wait ≤
the queue's `service_level_seconds`; short abandons waited under
`IPBX_SHORT_ABANDON_SECONDS`. Agents' state seconds are cut at the windows' edges; calls
handled count in the window they were answered.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

log = logging.getLogger(__name__)
LOCK = 7_314_001  # pg_advisory_xact_lock key of the aggregation
WINDOW = timedelta(minutes=15)

_CONTACTS_15M = """
INSERT INTO stats_contactinterval (period, start, dimension, key, offered, answered,
  abandoned, short_abandoned, overflowed, answered_in_sl, wait_answered, wait_abandoned,
  max_wait, talk, hold, wrap, transfers)
SELECT '15m', x.w,
  CASE WHEN GROUPING(x.queue) = 0 THEN 'queue' WHEN GROUPING(x.skill) = 0 THEN 'skill'
       ELSE 'campaign' END,
  COALESCE(CASE WHEN GROUPING(x.queue) = 0 THEN x.queue WHEN GROUPING(x.skill) = 0
           THEN x.skill ELSE x.campaign END, ''),
  count(*),
  count(*) FILTER (WHERE x.outcome = 'answered'),
  count(*) FILTER (WHERE x.outcome = 'abandoned'),
  count(*) FILTER (WHERE x.outcome = 'abandoned' AND x.wait_seconds < %(short)s),
  count(*) FILTER (WHERE x.outcome = 'overflowed'),
  count(*) FILTER (WHERE x.outcome = 'answered' AND x.wait_seconds <= x.sl),
  COALESCE(sum(x.wait_seconds) FILTER (WHERE x.outcome = 'answered'), 0),
  COALESCE(sum(x.wait_seconds) FILTER (WHERE x.outcome = 'abandoned'), 0),
  COALESCE(max(x.wait_seconds), 0),
  COALESCE(sum(x.talk_seconds) FILTER (WHERE x.outcome = 'answered'), 0),
  COALESCE(sum(x.hold_seconds) FILTER (WHERE x.outcome = 'answered'), 0),
  COALESCE(sum(x.wrap_seconds) FILTER (WHERE x.outcome = 'answered'), 0),
  count(*) FILTER (WHERE x.transferred)
FROM (
  SELECT f.*, to_timestamp(floor(extract(epoch FROM f.entered_at) / 900) * 900) AS w,
         COALESCE(q.service_level_seconds, 20) AS sl
  FROM stats_contactfact f LEFT JOIN icm_queue q ON q.name = f.queue
  WHERE f.entered_at >= %(lo)s AND f.entered_at < %(hi)s
) x
JOIN unnest(%(starts)s::timestamptz[]) AS d(w) ON d.w = x.w
GROUP BY GROUPING SETS ((x.w, x.queue), (x.w, x.skill), (x.w, x.campaign))
HAVING GROUPING(x.queue) = 0 OR (GROUPING(x.skill) = 0 AND x.skill <> '')
       OR (GROUPING(x.campaign) = 0 AND x.campaign <> '')
"""

_STATE_SECONDS = """
WITH d AS MATERIALIZED (SELECT unnest(%(starts)s::timestamptz[]) AS w),
cut AS (
  SELECT f.agent, f.state, f.reason, d.w,
         extract(epoch FROM least(f.ended_at, d.w + interval '15 minutes')
                            - greatest(f.started_at, d.w)) AS secs
  FROM stats_agentstatefact f
  CROSS JOIN LATERAL generate_series(
      to_timestamp(floor(extract(epoch FROM f.started_at) / 900) * 900), f.ended_at,
      interval '15 minutes') AS g(w)
  JOIN d ON d.w = g.w
  WHERE g.w < f.ended_at AND f.started_at < %(hi)s AND f.ended_at > %(lo)s
)
"""

_AGENTS_15M = "".join(
    (
        _STATE_SECONDS,
        """,
states AS (
  SELECT agent, w,
    COALESCE(sum(secs) FILTER (WHERE state = 'ready'), 0) AS ready,
    COALESCE(sum(secs) FILTER (WHERE state = 'reserved'), 0) AS reserved,
    COALESCE(sum(secs) FILTER (WHERE state = 'on_call'), 0) AS on_call,
    COALESCE(sum(secs) FILTER (WHERE state = 'wrap_up'), 0) AS wrap_up,
    COALESCE(sum(secs) FILTER (WHERE state = 'not_ready'), 0) AS not_ready
  FROM cut GROUP BY agent, w
),
calls AS (
  SELECT f.agent, d.w, count(*) AS handled, sum(f.talk_seconds) AS talk,
         sum(f.hold_seconds) AS hold, sum(f.wrap_seconds) AS wrap,
         count(*) FILTER (WHERE f.transferred) AS transfers
  FROM stats_contactfact f
  JOIN d ON d.w = to_timestamp(floor(extract(epoch FROM f.answered_at) / 900) * 900)
  WHERE f.outcome = 'answered' AND f.agent <> ''
    AND f.answered_at >= %(lo)s AND f.answered_at < %(hi)s
  GROUP BY f.agent, d.w
)
INSERT INTO stats_agentinterval (period, start, agent, handled, talk, hold, wrap, transfers,
  ready, reserved, on_call, wrap_up, not_ready)
SELECT '15m', COALESCE(s.w, c.w), COALESCE(s.agent, c.agent), COALESCE(c.handled, 0),
  COALESCE(c.talk, 0), COALESCE(c.hold, 0), COALESCE(c.wrap, 0), COALESCE(c.transfers, 0),
  COALESCE(s.ready, 0), COALESCE(s.reserved, 0), COALESCE(s.on_call, 0),
  COALESCE(s.wrap_up, 0), COALESCE(s.not_ready, 0)
FROM states s FULL OUTER JOIN calls c ON c.agent = s.agent AND c.w = s.w
""",
    )
)

_REASONS_15M = "".join(
    (
        _STATE_SECONDS,
        """
INSERT INTO stats_notreadyinterval (period, start, agent, reason, seconds)
SELECT '15m', w, agent, reason, sum(secs) FROM cut WHERE state = 'not_ready'
GROUP BY agent, reason, w
""",
    )
)

# a local day = the sum of its 15-minute rows (a window never straddles two local days:
# every time zone's offset is a multiple of 15 minutes)
_DAY_OF = "((date_trunc('day', start AT TIME ZONE %(tz)s)) AT TIME ZONE %(tz)s)"
_DAYS = {
    "stats_contactinterval": (
        "dimension, key",
        """offered, answered, abandoned,
        short_abandoned, overflowed, answered_in_sl, wait_answered, wait_abandoned, max_wait,
        talk, hold, wrap, transfers""",
        {"max_wait": "max"},
    ),
    "stats_agentinterval": (
        "agent",
        """handled, talk, hold, wrap, transfers, ready, reserved,
        on_call, wrap_up, not_ready""",
        {},
    ),
    "stats_notreadyinterval": ("agent, reason", "seconds", {}),
}


def _fifteen(moment: datetime) -> datetime:
    return datetime.fromtimestamp(moment.timestamp() // 900 * 900, tz=moment.tzinfo)


def aggregate() -> dict[str, Any]:
    """Rebuild every dirty window and its day; the figures of the run."""
    started = time.perf_counter()
    zone = settings.TIME_ZONE
    short = float(getattr(settings, "IPBX_SHORT_ABANDON_SECONDS", 5))
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        cur.execute("DELETE FROM stats_dirtywindow WHERE period = '15m' RETURNING start")
        starts = sorted({row[0] for row in cur.fetchall()})
        if not starts:
            return {"windows": 0, "days": 0, "seconds": 0.0}
        params = {
            "starts": starts,
            "lo": starts[0],
            "hi": starts[-1] + WINDOW,
            "short": short,
            "tz": zone,
        }
        for table in ("stats_contactinterval", "stats_agentinterval", "stats_notreadyinterval"):
            cur.execute(
                f"DELETE FROM {table} WHERE period = '15m' "  # noqa: S608
                "AND start = ANY(%(starts)s::timestamptz[])",
                params,
            )
        cur.execute(_CONTACTS_15M, params)
        cur.execute(_AGENTS_15M, params)
        cur.execute(_REASONS_15M, params)
        cur.execute(
            f"SELECT DISTINCT {_DAY_OF} FROM unnest(%(starts)s::timestamptz[]) "  # noqa: S608
            "AS d(start)",
            params,
        )
        days = sorted(row[0] for row in cur.fetchall())
        for table, (keys, measures, how) in _DAYS.items():
            names = [m.strip() for m in measures.split(",")]
            sums = ", ".join(f"{how.get(n, 'sum')}({n})" for n in names)
            cur.execute(
                f"DELETE FROM {table} WHERE period = 'day' "  # noqa: S608
                "AND start = ANY(%(days)s::timestamptz[])",
                {"days": days},
            )
            cur.execute(
                f"""INSERT INTO {table} (period, start, {keys}, {", ".join(names)})
                SELECT 'day', {_DAY_OF} AS day, {keys}, {sums} FROM {table}
                WHERE period = '15m' AND start >= %(lo)s AND start < %(hi)s
                  AND {_DAY_OF} = ANY(%(days)s::timestamptz[])
                GROUP BY day, {keys}""",  # noqa: S608
                {"tz": zone, "days": days, "lo": days[0], "hi": days[-1] + timedelta(days=2)},
            )
    took = time.perf_counter() - started
    log.info("stats: aggregated %d windows, %d days in %.2f s", len(starts), len(days), took)
    return {"windows": len(starts), "days": len(days), "seconds": round(took, 3)}


def mark_range(since: date, until: date) -> int:
    """Mark every 15-minute window of the local days since … until (inclusive) dirty."""
    zone = ZoneInfo(settings.TIME_ZONE)
    lo = datetime.combine(since, datetime.min.time(), tzinfo=zone)
    hi = datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO stats_dirtywindow (period, start)
            SELECT '15m', w FROM generate_series(%s::timestamptz, %s::timestamptz
                                                 - interval '15 minutes', interval '15 minutes') w
            ON CONFLICT DO NOTHING""",
            [_fifteen(lo), hi],
        )
        return cur.rowcount
