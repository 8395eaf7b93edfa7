"""Routing look-ups for a new call: the target queue (routing rules on system information,
then the inbound route) and the caller's priority from customer data (R-3, R-4)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import gevent
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils.module_loading import import_string

from icm.models import Call, CustomerNumber, InboundRoute, Queue, RoutingRule
from icm.schedules import schedule_open

log = logging.getLogger(__name__)
GRADE_PRIORITY = {"standard": 0, "silver": 2, "gold": 5, "vip": 10}

DEFAULT_QUEUE = "default"


def queue_for_call(dnis: str, ani: str, at: datetime | None = None) -> tuple[str, str]:
    """(queue, why) for a call: the first matching routing rule on dialled number, caller
    prefix and schedule (R-3), else the inbound route of the dialled number."""
    return route_call(dnis, ani, at)[:2]


def route_call(dnis: str, ani: str, at: datetime | None = None) -> tuple[str, str, str]:
    """(queue, why, flow) for a call, reading the dialled number's inbound route once: the
    first matching routing rule (R-3, no flow), else the inbound route's queue and flow (see
    queue_for_dnis and flow_for_dnis)."""
    at = at or datetime.now(tz=UTC)
    rules = (
        RoutingRule.objects.filter(enabled=True)
        .filter(Q(dnis="") | Q(dnis=dnis))
        .select_related("queue", "schedule")
        .prefetch_related("schedule__rules")
        .order_by("priority", "id")
    )
    for rule in rules:
        if rule.caller_prefix and not ani.startswith(rule.caller_prefix):
            continue
        if rule.when != RoutingRule.When.ALWAYS:
            open_now = schedule_open(rule.schedule, at)
            if open_now != (rule.when == RoutingRule.When.OPEN):
                continue
        return rule.queue.name, f"rule {rule.name}", ""
    route = _inbound_route(dnis, "queue", "flow__published_version", "closed_flow", "schedule")
    return _queue_of_route(route), "inbound route", _flow_of_route(route, at)


def flow_for_dnis(dnis: str, at: datetime | None = None) -> str:
    """The IVR flow of the dialled number's inbound route ("" when the route names a queue
    or there is none); the route's closed flow outside its schedule (night service, IVR-7).
    Routing rules (R-3) are tried before: see queue_for_call."""
    route = _inbound_route(dnis, "flow", "closed_flow", "schedule")
    return _flow_of_route(route, at or datetime.now(tz=UTC))


def queue_for_dnis(dnis: str) -> str:
    """The queue name for `dnis`; `default` when no enabled route names one."""
    return _queue_of_route(_inbound_route(dnis, "queue", "flow__published_version"))


def _inbound_route(dnis: str, *related: str) -> InboundRoute | None:
    return (
        InboundRoute.objects.filter(dnis=dnis, enabled=True)
        .select_related(*related)
        .order_by("priority")
        .first()
    )


def _flow_of_route(route: InboundRoute | None, at: datetime) -> str:
    if route is None or route.flow is None:
        return ""
    if route.schedule is not None and route.closed_flow is not None:
        if not schedule_open(route.schedule, at):
            return route.closed_flow.name
    return route.flow.name


def _queue_of_route(route: InboundRoute | None) -> str:
    if route is None:
        return DEFAULT_QUEUE
    if route.queue is not None:
        return route.queue.name
    version = route.flow.published_version if route.flow else None
    nodes = (version.graph or {}).get("nodes", {}) if version else {}
    for node in nodes.values():
        if isinstance(node, dict) and node.get("type") == "enter_queue" and node.get("queue"):
            return str(node["queue"])
    return DEFAULT_QUEUE


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


LAST_AGENT_DAYS = 30


def last_agent_for(ani: str) -> str:
    """The agent who last answered this caller within LAST_AGENT_DAYS (R-8), or ""."""
    if not ani:
        return ""
    since = datetime.now(tz=UTC) - timedelta(days=LAST_AGENT_DAYS)
    try:
        row = (
            Call.objects.filter(ani=ani, agent__isnull=False, created_at__gte=since)
            .order_by("-created_at")
            .values_list("agent__login_id", flat=True)
            .first()
        )
    except DatabaseError as exc:
        log.warning("caller %s: last-agent lookup failed (%s)", ani, exc)
        return ""
    return row or ""


GREETINGS_TTL_SECONDS = 10.0
_greetings_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def greeting_for(queue: str, category: str) -> str:
    """The queue's greeting for this caller category (grade), from its strategy parameter
    `greetings` (`{"vip": "ivr/vip.wav", "default": "ivr/queue.wav"}`), or "".
    Read at most every GREETINGS_TTL_SECONDS per queue: it is asked on every call."""
    cached = _greetings_cache.get(queue)
    if cached is None or time.monotonic() - cached[0] > GREETINGS_TTL_SECONDS:
        params = (
            Queue.objects.filter(name=queue).values_list("strategy_parameters", flat=True).first()
        )
        cached = (time.monotonic(), (params or {}).get("greetings") or {})
        _greetings_cache[queue] = cached
    greetings = cached[1]
    if not isinstance(greetings, dict):
        return ""
    return str(greetings.get(category) or greetings.get("default") or "")
