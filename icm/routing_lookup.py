"""Routing look-ups for a new call (R-3, R-4, R-8): the routing table (rules, inbound routes,
schedules, greetings) read from CallCenterDB and kept current by its version (LiveRouting);
the caller's facts (customer, last agent) in one statement per call; the pluggable customer
connector."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import gevent
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils.module_loading import import_string

from icm.domain.routing_table import (
    Opening,
    RouteEntry,
    RoutingTable,
    RuleEntry,
    queue_of_flow,
)
from icm.domain.schedule import OpenInterval
from icm.models import CustomerNumber, Holiday, InboundRoute, Queue, RoutingRule, Schedule

log = logging.getLogger(__name__)
GRADE_PRIORITY = {"standard": 0, "silver": 2, "gold": 5, "vip": 10}


def queue_for_call(dnis: str, ani: str, at: datetime | None = None) -> tuple[str, str]:
    """(queue, why) for a call: the first matching routing rule on dialled number, caller
    prefix and schedule (R-3), else the inbound route of the dialled number."""
    return route_call(dnis, ani, at)[:2]


def route_call(dnis: str, ani: str, at: datetime | None = None) -> tuple[str, str, str]:
    """(queue, why, flow) for a call: the first matching routing rule (R-3, no flow), else
    the inbound route's queue and flow. Reads the whole table: icm keeps one (LiveRouting)."""
    return load_routing_table().route(dnis, ani, at or datetime.now(tz=UTC))


def routing_version() -> int:
    """The routing configuration's version: every change to a route, rule, schedule,
    holiday, queue or flow moves it, in the changing transaction (database triggers, see
    migration icm 0009), so a reader never sees the new version before the new data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM icm_routing_config_version WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def load_routing_table(version: int = 0) -> RoutingTable:
    """The routing configuration as it is now, labelled `version` (read it first)."""
    global_holidays = set(
        Holiday.objects.filter(schedule__isnull=True).values_list("date", flat=True)
    )
    openings: dict[int, Opening] = {}
    for schedule in Schedule.objects.prefetch_related("rules", "holidays"):
        openings[schedule.pk] = Opening(
            schedule.timezone,
            tuple(OpenInterval(r.weekday, r.opens, r.closes) for r in schedule.rules.all()),
            frozenset(global_holidays | {h.date for h in schedule.holidays.all()}),
        )
    rules = tuple(
        RuleEntry(
            rule.name,
            rule.dnis,
            rule.caller_prefix,
            rule.when,
            openings.get(rule.schedule_id) if rule.schedule_id else None,
            rule.queue.name,
        )
        for rule in RoutingRule.objects.filter(enabled=True)
        .select_related("queue")
        .order_by("priority", "id")
    )
    routes: dict[str, RouteEntry] = {}
    enabled = InboundRoute.objects.filter(enabled=True).select_related(
        "queue", "flow__published_version", "closed_flow"
    )
    for route in enabled.order_by("dnis", "priority", "id"):
        if route.dnis in routes:
            continue
        flow = route.flow
        if route.queue is not None:
            queue = route.queue.name
        else:
            version_ = flow.published_version if flow else None
            queue = queue_of_flow(version_.graph if version_ else None)
        routes[route.dnis] = RouteEntry(
            queue,
            flow.name if flow else "",
            route.closed_flow.name if route.closed_flow else "",
            openings.get(route.schedule_id) if route.schedule_id else None,
        )
    greetings: dict[str, dict[str, str]] = {}
    for name, params in Queue.objects.values_list("name", "strategy_parameters"):
        found = (params or {}).get("greetings") if isinstance(params, dict) else None
        if isinstance(found, dict) and found:
            greetings[name] = {str(k): str(v) for k, v in found.items() if v}
    return RoutingTable(rules, routes, greetings, version)


@dataclass(frozen=True, slots=True)
class CallerFacts:
    """What routing reads per call, in one statement: the routing configuration's version,
    the built-in customer record of the caller's number and the caller's last agent."""

    version: int
    account: str = ""
    grade: str = ""
    last_agent: str = ""


LAST_AGENT_DAYS = 30  # a returning caller's last agent, if it answered within
_CALLER_FACTS_SQL = """
    SELECT v.version, cu.account, cu.grade, la.login_id
    FROM icm_routing_config_version v
    LEFT JOIN LATERAL (
        SELECT c.account, c.grade FROM icm_customernumber n
        JOIN icm_customer c ON c.id = n.customer_id
        WHERE %(ani)s <> '' AND n.number = %(ani)s ORDER BY n.id LIMIT 1
    ) cu ON true
    LEFT JOIN LATERAL (
        SELECT a.login_id FROM icm_call k
        JOIN agents_agent a ON a.id = k.agent_id
        WHERE %(ani)s <> '' AND k.ani = %(ani)s AND k.created_at >= %(since)s
        ORDER BY k.created_at DESC LIMIT 1
    ) la ON true
    WHERE v.id = 1"""


def caller_facts(ani: str) -> CallerFacts:
    """The routing version, the caller's customer (built-in connector) and last agent within
    LAST_AGENT_DAYS (R-4, R-8): one round trip, for it is asked on every call."""
    since = datetime.now(tz=UTC) - timedelta(days=LAST_AGENT_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(_CALLER_FACTS_SQL, {"ani": ani, "since": since})
        row = cursor.fetchone()
    if row is None:
        return CallerFacts(0)
    version, account, grade, last_agent = row
    return CallerFacts(int(version), account or "", grade or "", last_agent or "")


class LiveRouting:
    """The routing table icm routes calls by: one cheap version query per call, a reload
    when the configuration moved, and the last table read while the database is away (calls
    keep flowing through an outage; the customer look-ups degrade on their own)."""

    def __init__(self) -> None:
        self._table: RoutingTable | None = None

    def current(self, version: int | None = None) -> RoutingTable:
        """The table of configuration `version` (read it when not given; None after a failed
        read: the last table)."""
        try:
            if version is None:
                version = routing_version()
            if self._table is None or self._table.version != version:
                self._table = load_routing_table(version)
        except DatabaseError as exc:
            if self._table is None:
                raise
            log.warning("routing configuration not read (%s); routing by the last one", exc)
            connection.close()
        return self._table

    def last(self) -> RoutingTable:
        """The last table read, while the database is away (DatabaseError: none yet)."""
        if self._table is None:
            raise DatabaseError("no routing configuration read yet")
        return self._table


def database_customer(ani: str) -> tuple[str, str] | None:
    """The built-in customer connector: (account, grade) from the Customer table."""
    row = (
        CustomerNumber.objects.filter(number=ani)
        .select_related("customer")
        .only("customer__account", "customer__grade")
        .first()
    )
    return (row.customer.account, row.customer.grade) if row else None


def customer_connector() -> Callable[[str], tuple[str, str] | None]:
    """The configured connector (IPBX_CUSTOMER_CONNECTOR, a dotted path): any callable
    `ani -> (account, grade) | None`, e.g. one asking a CRM over HTTP."""
    return import_string(settings.IPBX_CUSTOMER_CONNECTOR)


def built_in_connector() -> bool:
    """Is the customer connector the built-in Customer table (read with caller_facts)?"""
    return settings.IPBX_CUSTOMER_CONNECTOR == f"{__name__}.database_customer"


def customer_priority(ani: str) -> tuple[str, int]:
    """(customer account, routing priority) of the caller by number (R-4).

    The connector gets IPBX_CUSTOMER_LOOKUP_TIMEOUT seconds; a failure or a time-out routes
    the call anyway, at default priority, with a log line.
    """
    if not ani:
        return "", 0
    timeout = settings.IPBX_CUSTOMER_LOOKUP_TIMEOUT
    try:
        with gevent.Timeout(timeout):
            found = customer_connector()(ani)
    except gevent.Timeout:
        log.warning(
            "caller %s: customer lookup timed out after %.1fs; default priority", ani, timeout
        )
        return "", 0
    except (DatabaseError, ImportError, OSError, ValueError, LookupError) as exc:
        log.warning("caller %s: customer lookup failed (%s); default priority", ani, exc)
        return "", 0
    if found is None:
        return "", 0
    account, grade = found
    return account, GRADE_PRIORITY.get(grade, 0)
