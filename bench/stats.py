"""StatServer benchmarks (issue 8), on the bench database (its statistics tables are emptied
before and after): how many facts per second icm's writer stores, how long the aggregation
takes to rebuild a year of facts, and how long the report pages take over that year.

- `facts_ingested_per_s`: BENCH_STATS_INGEST_FACTS facts (queue events, contacts, agent
  states, mixed in time order as icm's persister collects them) written by
  `stats.fact_writer.write_facts` in batches of BENCH_STATS_BATCH, the dirty-window
  triggers included; one transaction per batch, as icm does every 0.2 s.
- `aggregate_1m_facts_s`: BENCH_STATS_CONTACTS contact facts over BENCH_STATS_DAYS local
  days ending yesterday (10 queues, 200 agents on a rotating roster in two shifts, opening
  hours 08:00–20:00, quieter weekends), with the agent state facts their handling makes
  (ready, reserved, on call, wrap-up, breaks); loaded with COPY, which fires the same
  statement triggers, so the windows are marked dirty exactly as icm's inserts mark them.
  Then `stats.aggregate.aggregate()` is timed from everything dirty (under a statement
  timeout of BENCH_STATS_AGGREGATE_TIMEOUT s), with each statement's time. Also timed: the
  every-minute run with a year in place (two dirty windows).
- `report_page_ms`: the intraday page of one day and the queue summary and agent scorecard
  of a month and of the year, through Django's test Client signed in as a superuser (DEBUG
  off), 3 warm-up requests then BENCH_STATS_REQUESTS each: the worst of the medians.
"""

from __future__ import annotations

import heapq
import math
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from stats.aggregate import aggregate  # noqa: E402
from stats.fact_writer import write_facts  # noqa: E402

INGEST_FACTS = int(os.environ.get("BENCH_STATS_INGEST_FACTS", "200000"))
BATCH = int(os.environ.get("BENCH_STATS_BATCH", "1000"))
CONTACTS = int(os.environ.get("BENCH_STATS_CONTACTS", "1000000"))
DAYS = int(os.environ.get("BENCH_STATS_DAYS", "365"))
TIMEOUT = float(os.environ.get("BENCH_STATS_AGGREGATE_TIMEOUT", "300"))
REQUESTS = int(os.environ.get("BENCH_STATS_REQUESTS", "20"))
KEEP = os.environ.get("BENCH_STATS_KEEP", "") == "1"  # leave the data for EXPLAIN
SWITCH = "benchst"
ADMIN = "bench-st-admin"
QUEUES = [f"bench-st-q{i}" for i in range(10)]
QUEUE_WEIGHTS = [30, 18, 12, 9, 8, 7, 6, 4, 3, 3]
AGENTS = [f"bench-st-a{i:03d}" for i in range(200)]
REASONS = ("break", "lunch", "break")  # at 2 h, 4 h and 6 h into a shift
TABLES = (
    "stats_contactfact",
    "stats_queueeventfact",
    "stats_agentstatefact",
    "stats_dirtywindow",
    "stats_contactinterval",
    "stats_agentinterval",
    "stats_notreadyinterval",
)
CONTACT_COLUMNS = (
    "switch",
    "contact_id",
    "call_uuid",
    "queue",
    "skill",
    "campaign",
    "media",
    "agent",
    "entered_at",
    "answered_at",
    "ended_at",
    "outcome",
    "wait_seconds",
    "talk_seconds",
    "hold_seconds",
    "wrap_seconds",
    "transferred",
)
STATE_COLUMNS = (
    "switch",
    "agent",
    "state",
    "reason",
    "started_at",
    "ended_at",
    "queue",
    "contact_id",
)
SHIFTS = ((7.75, 16.25), (11.75, 20.25))  # local hours, early and late
out = sys.stdout


# --- a simulated contact center -------------------------------------------------------
@dataclass
class _Agent:
    index: int
    name: str
    start: float
    end: float
    free: float
    breaks: list[tuple[float, float, str]]
    busy: list[tuple[Any, ...]] = field(default_factory=list)  # state rows, in order

    def take_breaks(self, until: float) -> None:
        """Breaks due by `until` are taken as soon as the agent is free."""
        while self.breaks and self.breaks[0][0] <= max(self.free, until):
            at, seconds, reason = self.breaks.pop(0)
            begin = max(self.free, at)
            if begin >= self.end:
                continue
            self.busy.append(
                (SWITCH, self.name, "not_ready", reason, begin, begin + seconds, "", "")
            )
            self.free = begin + seconds

    def states(self) -> list[tuple[Any, ...]]:
        """Its day as closed state intervals: ready between everything else."""
        self.take_breaks(self.end)
        rows, cursor = [], self.start
        for row in self.busy:
            if row[4] > cursor:
                rows.append((SWITCH, self.name, "ready", "", cursor, row[4], "", ""))
            rows.append(row)
            cursor = row[5]
        if cursor < self.end:
            rows.append((SWITCH, self.name, "ready", "", cursor, self.end, "", ""))
        return rows


def _arrival(rng: random.Random, midnight: float) -> float:
    """Two peaks (10:30, 14:30) within the opening hours."""
    while True:
        hour = rng.gauss(10.5 if rng.random() < 0.55 else 14.5, 1.6)
        if 8 <= hour < 20:
            return midnight + hour * 3600


Rows = list[tuple[Any, ...]]


def simulate_day(
    day: date, calls: int, staffed: int, rng: random.Random, serial: Iterator[int]
) -> tuple[Rows, Rows]:
    """One local day: its contact facts and its agents' state facts (epoch seconds).
    Answered contacts go to the agent of the covering shifts free first (queue-blind)."""
    midnight = datetime.combine(day, day_time(), tzinfo=ZoneInfo(settings.TIME_ZONE)).timestamp()
    first = day.toordinal() * 37 % len(AGENTS)
    agents, heaps = [], ([], [])
    for i in range(staffed):
        lo, hi = (midnight + h * 3600 for h in SHIFTS[i % 2])
        breaks = [(lo + (2 + 2 * k) * 3600, 1800 if k == 1 else 900, REASONS[k]) for k in range(3)]
        agents.append(_Agent(i, AGENTS[(first + i) % len(AGENTS)], lo, hi, lo, breaks))
        heapq.heappush(heaps[i % 2], (lo, i))
    contacts = []
    for entered in sorted(_arrival(rng, midnight) for _ in range(calls)):
        cid, q = f"bc{next(serial)}", rng.choices(range(len(QUEUES)), QUEUE_WEIGHTS)[0]
        queue, skill = QUEUES[q], f"bench-st-skill{q % 4}"
        draw = rng.random()
        if draw >= 0.86:  # abandoned (10 %) or overflowed after a minute or two (4 %)
            outcome = "abandoned" if draw < 0.96 else "overflowed"
            wait = rng.expovariate(1 / 45) if outcome == "abandoned" else rng.uniform(60, 120)
            contacts.append(
                (
                    SWITCH,
                    cid,
                    "",
                    queue,
                    skill,
                    "",
                    "voice",
                    "",
                    entered,
                    None,
                    entered + wait,
                    outcome,
                    round(wait, 3),
                    0.0,
                    0.0,
                    0.0,
                    False,
                )
            )
            continue
        ring, talk = rng.uniform(2, 8), rng.lognormvariate(5.0, 0.6)
        wrap = 5 + rng.expovariate(1 / 15)
        offer_at = entered + max(0.0, rng.expovariate(1 / 20) - ring)
        agent = _next_agent(agents, heaps, offer_at, midnight)
        offer_at = max(offer_at, agent.free)
        answered, talk_end = offer_at + ring, offer_at + ring + talk
        end = talk_end + wrap
        agent.busy += [
            (SWITCH, agent.name, "reserved", "", offer_at, answered, queue, cid),
            (SWITCH, agent.name, "on_call", "", answered, talk_end, queue, cid),
            (SWITCH, agent.name, "wrap_up", "", talk_end, end, queue, cid),
        ]
        agent.free = end
        heapq.heappush(heaps[agent.index % 2], (end, agent.index))
        contacts.append(
            (
                SWITCH,
                cid,
                "",
                queue,
                skill,
                "",
                "voice",
                agent.name,
                entered,
                answered,
                end,
                "answered",
                round(answered - entered, 3),
                round(talk, 3),
                0.0,
                round(wrap, 3),
                rng.random() < 0.03,
            )
        )
    return contacts, [row for a in agents for row in a.states()]


def _next_agent(
    agents: list[_Agent], heaps: tuple[list, list], at: float, midnight: float
) -> _Agent:
    """Pop the agent free first among the shifts working at `at` (breaks taken first)."""
    hour = (at - midnight) / 3600
    open_ = [h for h, (lo, hi) in zip(heaps, SHIFTS, strict=True) if lo <= hour < hi - 0.25]
    open_ = open_ or [heaps[1]]
    while True:
        heap = min(open_, key=lambda h: h[0][0])
        free, i = heapq.heappop(heap)
        agent = agents[i]
        agent.take_breaks(at)
        if agent.free == free:
            return agent
        heapq.heappush(heap, (agent.free, i))


def _days(count: int) -> list[date]:
    yesterday = datetime.now(tz=ZoneInfo(settings.TIME_ZONE)).date() - timedelta(days=1)
    return [yesterday - timedelta(days=n) for n in range(count - 1, -1, -1)]


def _calls_per_day(days: list[date], total: int) -> list[int]:
    weights = [1.0 if d.weekday() < 5 else 0.35 if d.weekday() == 5 else 0.15 for d in days]
    counts = [math.floor(total * w / sum(weights)) for w in weights]
    for n in range(total - sum(counts)):
        counts[n % len(counts)] += 1
    return counts


# --- the database ---------------------------------------------------------------------
def reset() -> None:
    """Empty the statistics tables — of the bench database only."""
    if connection.settings_dict["NAME"] != "ipbx_bench":
        raise SystemExit("bench.stats empties statistics tables: run it via `python -m bench`")
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)}")


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def _copy(
    cur: Any,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    times: tuple[int, ...],
) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            row = list(row)
            for i in times:
                row[i] = _when(row[i])
            copy.write_row(row)


# --- 1. ingest --------------------------------------------------------------------------
def ingest_facts() -> list[tuple[str, dict[str, Any]]]:
    """icm's facts of a few busy days (8,000 calls a day, 120 agents), in time order."""
    rng, serial, timed = random.Random(8), iter(range(10**9)), []
    for day in _days(30):
        contacts, states = simulate_day(day, 8000, 120, rng, serial)
        for row in contacts:
            fact = dict(zip(CONTACT_COLUMNS, row, strict=True))
            agent, wait = fact["agent"], fact["wait_seconds"]
            timed.append(_queue_event(fact, "entered", fact["entered_at"], "", 0.0))
            if fact["outcome"] == "answered":
                timed.append(_queue_event(fact, "offered", fact["answered_at"] - 1, agent, wait))
            left = fact["answered_at"] or fact["ended_at"]
            timed.append(_queue_event(fact, fact["outcome"], left, agent, wait))
            timed.append((fact["ended_at"], ("contact", fact)))
        timed += [
            (row[5], ("agent_state", dict(zip(STATE_COLUMNS, row, strict=True)))) for row in states
        ]
        if len(timed) >= INGEST_FACTS:
            break
    timed.sort(key=lambda pair: pair[0])
    return [fact for _, fact in timed[:INGEST_FACTS]]


def _queue_event(
    contact: dict[str, Any], kind: str, at: float, agent: str, wait: float
) -> tuple[float, tuple[str, dict[str, Any]]]:
    fact = {k: contact[k] for k in ("switch", "contact_id", "call_uuid", "queue")}
    return at, (
        "queue_event",
        {**fact, "kind": kind, "at": at, "agent": agent, "wait_seconds": wait},
    )


def bench_ingest() -> None:
    reset()
    facts = ingest_facts()
    batches = [facts[n : n + BATCH] for n in range(0, len(facts), BATCH)]
    took = []
    for batch in batches:
        started = time.perf_counter()
        write_facts(batch)
        took.append(time.perf_counter() - started)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM stats_dirtywindow")
        dirty = cur.fetchone()[0]
    kinds = {
        k: sum(1 for kind, _ in facts if kind == k)
        for k in ("queue_event", "contact", "agent_state")
    }
    out.write(
        f"stats_ingest: {len(facts)} facts ({kinds['queue_event']} queue events, "
        f"{kinds['contact']} contacts, {kinds['agent_state']} agent states) in "
        f"{len(batches)} batches of {BATCH}, {dirty} windows marked dirty\n"
        f"stats_ingest_batch_p50_ms: {_pct(took, 50) * 1000:.1f}\n"
        f"stats_ingest_batch_p95_ms: {_pct(took, 95) * 1000:.1f}\n"
        f"facts_ingested_per_s: {len(facts) / sum(took):.0f}\n"
    )
    out.flush()


# --- 2. aggregation -------------------------------------------------------------------
def load_year() -> tuple[list[date], int]:
    """The simulated year, loaded day by day with COPY (the triggers mark the windows)."""
    reset()
    started, rng, serial = time.perf_counter(), random.Random(9), iter(range(10**9))
    days = _days(DAYS)
    counted = {"contacts": 0, "states": 0}
    with transaction.atomic(), connection.cursor() as cur:
        for day, calls in zip(days, _calls_per_day(days, CONTACTS), strict=True):
            contacts, states = simulate_day(
                day, calls, 20 if day.weekday() >= 5 else 70, rng, serial
            )
            _copy(cur.cursor, "stats_contactfact", CONTACT_COLUMNS, contacts, (8, 9, 10))
            _copy(cur.cursor, "stats_agentstatefact", STATE_COLUMNS, states, (4, 5))
            counted["contacts"] += len(contacts)
            counted["states"] += len(states)
    with connection.cursor() as cur:
        cur.execute("ANALYZE stats_contactfact, stats_agentstatefact, stats_dirtywindow")
        cur.execute("SELECT count(*) FROM stats_dirtywindow")
        dirty = cur.fetchone()[0]
    out.write(
        f"stats_year: {counted['contacts']} contact facts and {counted['states']} agent "
        f"state facts over {len(days)} days ({days[0]} – {days[-1]}, {settings.TIME_ZONE}),"
        f" {dirty} windows dirty, loaded in {time.perf_counter() - started:.0f} s "
        "(COPY, not timed)\n"
    )
    out.flush()
    return days, counted["contacts"]


def _label(sql: str) -> str:
    if "pg_advisory" in sql:
        return "lock"
    if "stats_dirtywindow" in sql:
        return "take dirty windows"
    if sql.lstrip().startswith("SELECT DISTINCT"):
        return "days of the windows"
    table = re.search(r"(INSERT INTO|DELETE FROM) (stats_\w+)", sql)
    if table is None:
        return " ".join(sql.split()[:3])
    period = "day" if "'day'" in sql else "15m"
    return f"{table.group(1).split()[0]} {table.group(2)} {period}"


def timed_aggregate() -> tuple[dict[str, Any] | None, float, list[tuple[str, float]], str]:
    """aggregate() under the statement timeout: (result, seconds, per statement, error)."""
    spent: list[tuple[str, float]] = []

    def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append((_label(sql), time.perf_counter() - started))

    with connection.cursor() as cur:
        cur.execute(f"SET statement_timeout = {int(TIMEOUT * 1000)}")
    started, result, error = time.perf_counter(), None, ""
    try:
        with connection.execute_wrapper(timer):
            result = aggregate()
    except DatabaseError as exc:
        error = str(exc).splitlines()[0]
    took = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("SET statement_timeout = 0")
    return result, took, spent, error


def bench_aggregate() -> tuple[list[date], bool]:
    days, contacts = load_year()
    result, took, spent, error = timed_aggregate()
    for label, seconds in spent:
        out.write(f"stats_aggregate_statement: {seconds:8.2f} s  {label}\n")
    if error:
        out.write(
            f"stats_aggregate: cancelled after {took:.0f} s ({error}); the statement "
            "timeout is BENCH_STATS_AGGREGATE_TIMEOUT\n"
            f"aggregate_1m_facts_s: > {took:.0f} (not finished)\n"
        )
        out.flush()
        return days, False
    with connection.cursor() as cur:
        cur.execute(
            "SELECT sum(offered) FILTER (WHERE period = '15m'), sum(offered) "
            "FILTER (WHERE period = 'day') FROM stats_contactinterval "
            "WHERE dimension = 'queue'"
        )
        in_15m, in_days = cur.fetchone()
    check = "ok" if in_15m == in_days == contacts else "MISMATCH"
    out.write(
        f"stats_aggregate: {result['windows']} windows and {result['days']} days rebuilt; "
        f"offered {in_15m} in 15-minute rows, {in_days} in day rows, {contacts} facts "
        f"({check})\naggregate_1m_facts_s: {took:.1f}\n"
    )
    # the every-minute run with a year in place: two windows of the last afternoon dirty
    last = datetime.combine(days[-1], day_time(14), tzinfo=ZoneInfo(settings.TIME_ZONE))
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO stats_dirtywindow (period, start) VALUES ('15m', %s), ('15m', %s)",
            [last, last + timedelta(minutes=15)],
        )
    result, took, spent, error = timed_aggregate()
    detail = ", ".join(f"{label} {seconds * 1000:.0f} ms" for label, seconds in spent)
    out.write(f"stats_aggregate_every_minute_s: {took:.3f} ({error or 'two windows'}: {detail})\n")
    out.flush()
    return days, True


# --- 3. report pages --------------------------------------------------------------------
def bench_reports(days: list[date]) -> None:
    User.objects.filter(username=ADMIN).delete()
    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.create_superuser(ADMIN, email=""))
    settings.DEBUG = False  # as in production: no query log, no template debug
    weekday = next(d for d in reversed(days) if d.weekday() == 2)
    month = {"since": (days[-1] - timedelta(days=29)).isoformat(), "until": days[-1].isoformat()}
    year = {"since": days[0].isoformat(), "until": days[-1].isoformat()}
    pages = [
        ("intraday", "one day", {"date": weekday.isoformat()}, True),
        ("queues", "a month", month, True),
        ("queues", "the year", year, True),
        ("agents", "a month", month, True),
        ("agents", "the year", year, True),
        ("hourly", "the year", year, False),
        ("abandoned", "the year", year, False),
    ]
    medians = []
    for name, span, params, counted in pages:
        took = []
        for n in range(3 + REQUESTS):
            started = time.perf_counter()
            response = client.get(f"/stats/reports/{name}/", params)
            if n >= 3:
                took.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{name} {params}: HTTP {response.status_code}")
        median, p95 = statistics.median(took) * 1000, _pct(took, 95) * 1000
        if counted:
            medians.append(median)
        out.write(
            f"stats_report_{name}_{span.split()[-1]}_ms: median {median:.1f}, p95 "
            f"{p95:.1f} ({len(response.content) // 1024} KB"
            f"{'' if counted else ', not in report_page_ms'})\n"
        )
    out.write(f"report_page_ms: {max(medians):.1f}\n")
    out.flush()
    User.objects.filter(username=ADMIN).delete()


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]


def main() -> None:
    bench_ingest()
    days, aggregated = bench_aggregate()
    if aggregated:
        bench_reports(days)
    else:
        out.write(
            "report_page_ms: not measured (no interval data: the aggregation did not finish)\n"
        )
    if not KEEP:
        reset()
    sys.exit(0 if aggregated else 1)


if __name__ == "__main__":
    main()
