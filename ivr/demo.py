"""Demo IVR flows (loaded by `manage.py load_demo`): a main menu with language choice, an
account-balance sub-flow through the SQL connector, night service by schedule and VIP
routing by customer grade; the demo billing table the connector reads. The files the flows
play (paths relative to the sounds directory) are shipped in sounds/ (scripts/make_sounds.sh)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection

from ivr.actions import check_publish
from ivr.models import DataConnector, Flow, FlowVersion

MAIN_FLOW = "main-menu"
BALANCE_FLOW = "account-balance"
NIGHT_FLOW = "night-service"

BALANCE_GRAPH: dict[str, Any] = {
    "start": "ask",
    "nodes": {
        "ask": {
            "type": "collect",
            "variable": "account",
            "min_digits": 4,
            "max_digits": 8,
            "prompt": {
                "en": "Please enter your account number, followed by the hash key.",
                "es": "Marque su número de cuenta y después la tecla numeral.",
            },
            "exits": {"next": "look", "timeout": "done", "invalid": "done"},
        },
        "look": {
            "type": "lookup",
            "connector": "demo-balances",
            "params": {"account": "account"},
            "variable": "balance",
            "outputs": {"holder": "holder"},
            "exits": {"next": "say", "not_found": "unknown", "error": "sorry"},
        },
        "say": {
            "type": "play",
            "prompts": [
                {"text": {"en": "{holder}, your balance is", "es": "{holder}, su saldo es"}},
                {"say": "currency", "value": "balance"},
            ],
            "exits": {"next": "done"},
        },
        "unknown": {
            "type": "play",
            "text": {"en": "We could not find that account.", "es": "No encontramos esa cuenta."},
            "exits": {"next": "done"},
        },
        "sorry": {
            "type": "play",
            "text": "Our account service is not available right now.",
            "exits": {"next": "done"},
        },
        "done": {"type": "return"},
    },
}

MAIN_GRAPH: dict[str, Any] = {
    "start": "language",
    "on_error": "support",
    "nodes": {
        "language": {
            "type": "language",
            "languages": ["en", "es"],
            "prompt": "For English press 1. Para español oprima 2.",
            "exits": {"next": "welcome"},
        },
        "welcome": {
            "type": "play",
            "file": {"en": "ivr/welcome.wav", "es": "ivr/es/welcome.wav"},
            "text": {
                "en": "Welcome to the IPBX demo company.",
                "es": "Bienvenido a la empresa de demostración IPBX.",
            },
            "exits": {"next": "grade"},
        },
        "grade": {
            "type": "switch",
            "value": "customer_grade",
            "exits": {"vip": "vip", "gold": "vip", "default": "menu"},
        },
        "vip": {
            "type": "enter_queue",
            "queue": "support",
            "priority": "10",
            "skills": {"vip": 5},
            "text": {
                "en": "Thank you for being a valued customer. Connecting you now.",
                "es": "Gracias por ser un cliente preferente. Le comunicamos.",
            },
        },
        "menu": {
            "type": "menu",
            "retries": 2,
            "prompt": {
                "en": "For your account balance press 1. For sales press 2. "
                "For technical support press 3.",
                "es": "Para su saldo oprima 1. Para ventas oprima 2. "
                "Para soporte técnico oprima 3.",
            },
            "exits": {
                "1": "balance",
                "2": "sales",
                "3": "support",
                "timeout": "support",
                "invalid": "support",
            },
        },
        "balance": {"type": "subflow", "flow": BALANCE_FLOW, "exits": {"next": "billing"}},
        "billing": {"type": "enter_queue", "queue": "billing"},
        "sales": {"type": "enter_queue", "queue": "sales"},
        "support": {"type": "enter_queue", "queue": "support"},
    },
}

NIGHT_GRAPH: dict[str, Any] = {
    "start": "closed",
    "nodes": {
        "closed": {
            "type": "menu",
            "retries": 1,
            "prompt": "Our offices are closed. To leave a message press 1, or stay on "
            "the line for our on-duty team.",
            "exits": {"1": "message", "timeout": "duty", "invalid": "duty"},
        },
        "message": {"type": "voicemail", "mailbox": "support"},
        "duty": {"type": "enter_queue", "queue": "support"},
    },
}

FLOWS = [  # sub-flows first: publishing checks the flows a flow calls
    (BALANCE_FLOW, "Account balance by account number (SQL connector)", BALANCE_GRAPH),
    (MAIN_FLOW, "Language, welcome, VIPs first, then the main menu", MAIN_GRAPH),
    (NIGHT_FLOW, "Outside office hours: voicemail or the on-duty team", NIGHT_GRAPH),
]

BALANCES_CONNECTOR = {
    "database": "default",
    "query": "SELECT balance, holder FROM demo.accounts WHERE number = %(account)s",
}


def demo_accounts(customers: list[tuple[str, str, str, list[str]]]) -> list[tuple]:
    """(number, holder, balance) for each demo customer: account C0001 is number 10001."""
    return [
        (f"1{account[1:]}", name, Decimal(37 * index % 1000) + Decimal("0.50"))
        for index, (name, account, _grade, _numbers) in enumerate(customers, 1)
    ]


def load_billing_table(customers: list[tuple[str, str, str, list[str]]]) -> bool:
    """The demo's "external" billing database: schema `demo` in the same PostgreSQL."""
    rows = demo_accounts(customers)
    with connection.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS demo")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS demo.accounts (number text PRIMARY KEY, "
            "holder text NOT NULL, balance numeric(12, 2) NOT NULL)"
        )
        cur.execute("SELECT number, holder, balance FROM demo.accounts ORDER BY number")
        if cur.fetchall() == sorted(rows):
            return False
        cur.execute("DELETE FROM demo.accounts")
        cur.executemany("INSERT INTO demo.accounts VALUES (%s, %s, %s)", rows)
    return True


def load_flows() -> tuple[dict[str, Flow], int]:
    """Create the demo connector and flows, or publish a new version where a flow's graph
    differs from the demo's; returns the flows and how many rows changed."""
    changed = 0
    connector, created = DataConnector.objects.get_or_create(
        name="demo-balances",
        defaults={
            "kind": "sql",
            "config": BALANCES_CONNECTOR,
            "description": "Demo account balances",
        },
    )
    if not created and (connector.kind, connector.config, connector.enabled) != (
        "sql",
        BALANCES_CONNECTOR,
        True,
    ):
        connector.kind, connector.config, connector.enabled = "sql", BALANCES_CONNECTOR, True
        connector.save()
        changed += 1
    changed += created
    flows = {}
    for name, description, graph in FLOWS:
        flow, created = Flow.objects.get_or_create(name=name, defaults={"description": description})
        changed += created
        current = flow.published_version
        if current is None or current.graph != graph:
            last = flow.versions.order_by("-number").first()
            version = FlowVersion.objects.create(
                flow=flow, number=(last.number + 1) if last else 1, graph=graph
            )
            check_publish(version)
            flow.refresh_from_db()
            changed += 1
        flows[name] = flow
    return flows, changed
