"""Data-access connectors (IVR-3) against real back-ends: PostgreSQL for SQL, a local HTTP
server for HTTP JSON, a registered Python entry point; time-outs and circuit breakers."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from werkzeug import Response

from ivr.connectors import registry
from ivr.connectors.registry import ConnectorError
from ivr.models import DataConnector

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_registry():
    registry.forget_cache()
    yield
    registry.forget_cache()


@pytest.fixture(autouse=True)
def local_back_ends_allowed(settings):
    """The test back-end (pytest-httpserver) listens on loopback, which the HTTP connector
    refuses unless listed (tests/security/test_ivr_connectors.py)."""
    settings.IVR_HTTP_ALLOWED_HOSTS = ["localhost", "127.0.0.1", "::1"]


@pytest.fixture
def accounts():
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE test_accounts (number text PRIMARY KEY, balance numeric, holder text)"
        )
        cur.execute("INSERT INTO test_accounts VALUES ('1234', 120.50, 'Ann'), ('9999', 5, 'Bob')")
    yield
    with connection.cursor() as cur:
        cur.execute("DROP TABLE test_accounts")


def sql_connector(query, **extra):
    return DataConnector.objects.create(
        name="balances", kind="sql", config={"database": "default", "query": query}, **extra
    )


def test_sql_returns_the_first_row(accounts):
    sql_connector("SELECT balance, holder FROM test_accounts WHERE number = %(account)s")
    row = registry.lookup("balances", {"account": "1234"})
    assert float(row["balance"]) == 120.5 and row["holder"] == "Ann"
    assert registry.lookup("balances", {"account": "0000"}) == {}


def test_sql_values_with_quotes_cannot_inject(accounts):
    sql_connector("SELECT balance FROM test_accounts WHERE number = %(account)s")
    for hostile in ["1234' OR '1'='1", "1234'; DROP TABLE test_accounts; --", "' OR 1=1 --"]:
        assert registry.lookup("balances", {"account": hostile}) == {}
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM test_accounts")
        assert cur.fetchone()[0] == 2


def test_sql_sessions_are_read_only(accounts):
    sql_connector(
        "WITH gone AS (DELETE FROM test_accounts RETURNING number) SELECT count(*) AS n FROM gone"
    )
    with pytest.raises(ConnectorError, match="ReadOnlySqlTransaction"):
        registry.lookup("balances", {})
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM test_accounts")
        assert cur.fetchone()[0] == 2


def test_sql_statement_time_out(accounts):
    sql_connector("SELECT pg_sleep(5) AS slept", timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(ConnectorError, match="timed out"):
        registry.lookup("balances", {})
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("sql", {"database": "default", "query": "DELETE FROM x"}, "must be a SELECT"),
        ("sql", {"database": "default", "query": "SELECT 1; SELECT 2"}, "one statement"),
        ("sql", {"database": "default", "query": "SELECT '%s'"}, "%(name)s"),
        ("sql", {"database": "nope", "query": "SELECT 1"}, "environment variable"),
        ("http", {"url": "ftp://x/"}, "http:// or https://"),
        ("http", {"url": "http://x/{secret:T}"}, "secrets belong in headers"),
        ("http", {"url": "http://x/", "fields": {"a": "$.[[["}}, "bad JSON path"),
        ("python", {"entry_point": "os.system"}, "not registered"),
        ("ftp", {}, "unknown kind"),
    ],
)
def test_bad_definitions_are_refused_with_the_reason(kind, config, message):
    connector = DataConnector(name="x", kind=kind, config=config)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        connector.clean()


def http_connector(httpserver, path="/accounts/{account}", **extra):
    return DataConnector.objects.create(
        name="crm",
        kind="http",
        timeout_seconds=extra.pop("timeout", 1.0),
        config={
            "url": httpserver.url_for("").rstrip("/") + path,
            "headers": {"Authorization": "Bearer {secret:CRM_TOKEN}"},
            "fields": {"balance": "$.account.balance", "holder": "$.account.name"},
            **extra,
        },
    )


def test_http_fills_the_url_sends_the_secret_and_extracts_fields(httpserver, monkeypatch):
    monkeypatch.setenv("IVR_SECRET_CRM_TOKEN", "s3cret")
    httpserver.expect_request(
        "/accounts/12 34", headers={"Authorization": "Bearer s3cret"}
    ).respond_with_json({"account": {"balance": 99.5, "name": "Ann"}})
    http_connector(httpserver)
    assert registry.lookup("crm", {"account": "12 34"}) == {"balance": 99.5, "holder": "Ann"}


def test_http_not_found_is_an_empty_answer(httpserver, monkeypatch):
    monkeypatch.setenv("IVR_SECRET_CRM_TOKEN", "s3cret")
    httpserver.expect_request("/accounts/1").respond_with_data("no", status=404)
    http_connector(httpserver)
    assert registry.lookup("crm", {"account": "1"}) == {}


def test_http_time_out_and_missing_secret_fail_clearly(httpserver, monkeypatch):
    def slow(request):
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/accounts/1").respond_with_handler(slow)
    http_connector(httpserver, timeout=0.3)
    with pytest.raises(ConnectorError, match="failed: LookupError"):
        registry.lookup("crm", {"account": "1"})  # no IVR_SECRET_CRM_TOKEN
    monkeypatch.setenv("IVR_SECRET_CRM_TOKEN", "s3cret")
    with pytest.raises(ConnectorError, match="timed out"):
        registry.lookup("crm", {"account": "1"})


def test_the_circuit_opens_after_failures_and_fails_fast(httpserver, monkeypatch):
    monkeypatch.setenv("IVR_SECRET_CRM_TOKEN", "s3cret")
    httpserver.expect_request("/accounts/1").respond_with_data("boom", status=500)
    http_connector(httpserver)
    DataConnector.objects.filter(name="crm").update(failure_threshold=2, reset_seconds=60)
    for _ in range(2):
        with pytest.raises(ConnectorError):
            registry.lookup("crm", {"account": "1"})
    served = len(httpserver.log)
    with pytest.raises(ConnectorError, match="circuit is open"):
        registry.lookup("crm", {"account": "1"})
    assert len(httpserver.log) == served  # failed fast: the back-end was not asked


def echo_balance(params):
    if params.get("account") == "slow":
        time.sleep(2)
    return {"balance": len(params.get("account", "")) * 10}


def test_python_entry_points_run_with_a_time_out(settings):
    settings.IVR_PYTHON_CONNECTORS = {"echo": "tests.ivr.test_connectors.echo_balance"}
    DataConnector.objects.create(
        name="echo", kind="python", timeout_seconds=0.3, config={"entry_point": "echo"}
    )
    assert registry.lookup("echo", {"account": "1234"}) == {"balance": 40}
    with pytest.raises(ConnectorError, match="timed out"):
        registry.lookup("echo", {"account": "slow"})


def test_an_unknown_or_disabled_connector_fails():
    DataConnector.objects.create(
        name="off", kind="python", enabled=False, config={"entry_point": "x"}
    )
    with pytest.raises(ConnectorError, match="no enabled connector"):
        registry.lookup("off", {})


def test_a_flow_whose_http_lookup_times_out_takes_the_error_branch(httpserver, monkeypatch):
    from ivr.engine.interpreter import Interpreter
    from ivr.engine.text import TextConversation
    from ivr.engine.validation import validate
    from ivr.services import FlowServices

    from .flows import MemoryFlows

    def slow(request):
        time.sleep(1.5)
        return Response('{"account": {"balance": 1}}', content_type="application/json")

    monkeypatch.setenv("IVR_SECRET_CRM_TOKEN", "s3cret")
    httpserver.expect_request("/accounts/5550101").respond_with_handler(slow)
    http_connector(httpserver, timeout=0.3)
    graph = {
        "start": "look",
        "nodes": {
            "look": {
                "type": "lookup",
                "connector": "crm",
                "params": {"account": "ani"},
                "variable": "balance",
                "exits": {"next": "say", "error": "sorry"},
            },
            "say": {"type": "play", "text": "Your balance is {balance}.", "exits": {"next": "q"}},
            "sorry": {
                "type": "play",
                "text": "Our systems are slow today.",
                "exits": {"next": "q"},
            },
            "q": {"type": "enter_queue", "queue": "support"},
        },
    }
    validate(graph, "main")
    conversation = TextConversation(
        Interpreter(MemoryFlows({"main": graph})), FlowServices(lambda metric, queue: 0)
    )
    started = time.monotonic()
    _, reply = conversation.start("main", {"ani": "5550101"})
    assert reply.messages[0] == "Our systems are slow today."
    assert "timed out" in reply.outcome["error"]
    assert time.monotonic() - started < 1.2  # the caller was not kept waiting for the API
