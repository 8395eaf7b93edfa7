"""Issue 18 item 9: the IVR's data connectors reach only what they should.

The SQL connector connects as its own read-only role (IVR_SQL_DATABASE_URL), so a connector
query can neither read the application's tables nor write, and `check --deploy` warns when it
would connect as the application's user. The HTTP connector calls only hosts on
IVR_HTTP_ALLOWED_HOSTS (public addresses when that is empty) and never a link-local or cloud
metadata address, whatever the list says or the host name resolves to.
"""

from __future__ import annotations

import socket
import uuid
from urllib.parse import quote

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.db import connection

from ivr.connectors import registry, sql
from ivr.connectors.registry import ConnectorError
from ivr.models import DataConnector

pytestmark = pytest.mark.django_db(transaction=True)


def _close_pooled_sessions():
    for free in sql._FREE.values():
        while free:
            free.pop().close()


@pytest.fixture(autouse=True)
def fresh_registry():
    registry.forget_cache()
    _close_pooled_sessions()
    yield
    registry.forget_cache()
    _close_pooled_sessions()


@pytest.fixture
def reader(settings):
    """A table flows read, and a dedicated role that may SELECT it (and, over-granted on
    purpose, DELETE from it: the session must still refuse to write)."""
    role = f"ivr_reader_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    db = connection.settings_dict
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE sec_accounts (number text PRIMARY KEY, holder text)")
        cur.execute("INSERT INTO sec_accounts VALUES ('1234', 'Ann'), ('9999', 'Bob')")
        cur.execute(f"CREATE ROLE {role} LOGIN PASSWORD %s", [password])
        cur.execute(f'GRANT CONNECT ON DATABASE "{db["NAME"]}" TO {role}')
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cur.execute(f"GRANT SELECT, DELETE ON sec_accounts TO {role}")
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    host = quote(str(host), safe="")  # a socket directory (the embedded server's) as %2F…
    settings.IVR_SQL_DATABASE_URL = f"postgresql://{role}:{password}@{host}:{port}/{db['NAME']}"
    yield role
    _close_pooled_sessions()
    with connection.cursor() as cur:
        cur.execute("DROP TABLE sec_accounts")
        cur.execute(f"DROP OWNED BY {role}")
        cur.execute(f"DROP ROLE {role}")


def sql_connector(query):
    return DataConnector.objects.create(
        name="accounts", kind="sql", config={"database": "default", "query": query}
    )


def test_the_sql_connector_connects_as_its_own_role(reader):
    sql_connector("SELECT current_user AS who, holder FROM sec_accounts WHERE number = %(n)s")
    assert registry.lookup("accounts", {"n": "1234"}) == {"who": reader, "holder": "Ann"}


def test_the_sql_connector_cannot_read_the_applications_tables(reader):
    sql_connector("SELECT password FROM auth_user LIMIT 1")
    with pytest.raises(ConnectorError, match="InsufficientPrivilege"):
        registry.lookup("accounts", {})


def _replace_query(query):
    DataConnector.objects.filter(name="accounts").update(
        config={"database": "default", "query": query}
    )
    registry.forget_cache()


def test_the_sql_connector_cannot_write_even_with_a_role_that_may(reader):
    delete = "WITH gone AS (DELETE FROM sec_accounts RETURNING 1) SELECT count(*) AS n FROM gone"
    sql_connector(delete)
    with pytest.raises(ConnectorError, match="ReadOnlySqlTransaction"):
        registry.lookup("accounts", {})
    # turning the session's default off is undone with the query's transaction
    _replace_query("SELECT set_config('default_transaction_read_only', 'off', false) AS v")
    registry.lookup("accounts", {})
    _replace_query(delete)
    with pytest.raises(ConnectorError, match="ReadOnlySqlTransaction"):
        registry.lookup("accounts", {})
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM sec_accounts")
        assert cur.fetchone()[0] == 2


def _deploy_warnings():
    return {m.id for m in run_checks(include_deployment_checks=True)}


def test_check_deploy_warns_when_the_connector_is_the_applications_user(settings):
    settings.IVR_SQL_DATABASE_URL = ""
    assert "ivr.W001" in _deploy_warnings()
    app = settings.DATABASES["default"]
    settings.IVR_SQL_DATABASE_URL = f"postgresql://{app['USER']}@127.0.0.1:5432/ipbx"
    assert "ivr.W001" in _deploy_warnings()
    settings.IVR_SQL_DATABASE_URL = "postgresql://ipbx_ivr_reader:pw@127.0.0.1:5432/ipbx"
    assert "ivr.W001" not in _deploy_warnings()


def http_connector(url, **config):
    return DataConnector.objects.create(
        name="crm", kind="http", timeout_seconds=1.0, config={"url": url, **config}
    )


def test_a_host_not_on_the_allow_list_is_refused(httpserver, settings):
    httpserver.expect_request("/accounts/1").respond_with_json({"balance": 5})
    url = httpserver.url_for("/accounts/{account}")
    settings.IVR_HTTP_ALLOWED_HOSTS = ["crm.example.com"]
    connector = http_connector(url)
    with pytest.raises(ValidationError, match="not on IVR_HTTP_ALLOWED_HOSTS"):
        connector.clean()
    with pytest.raises(ConnectorError, match="refused: host localhost is not on"):
        registry.lookup("crm", {"account": "1"})
    assert httpserver.log == []  # the request never left
    settings.IVR_HTTP_ALLOWED_HOSTS = ["crm.example.com", "localhost"]
    registry.forget_cache()
    assert registry.lookup("crm", {"account": "1"}) == {"balance": 5}


def test_loopback_is_refused_without_an_allow_list(httpserver, settings):
    httpserver.expect_request("/accounts/1").respond_with_json({"balance": 5})
    settings.IVR_HTTP_ALLOWED_HOSTS = []
    http_connector(httpserver.url_for("/accounts/{account}"))
    with pytest.raises(ConnectorError, match="loopback, private"):
        registry.lookup("crm", {"account": "1"})
    assert httpserver.log == []
    with pytest.raises(ValidationError, match="loopback, private"):
        DataConnector(name="x", kind="http", config={"url": "http://10.0.0.7/x"}).clean()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/",
    ],
)
def test_metadata_addresses_are_refused_even_when_listed(url, settings):
    settings.IVR_HTTP_ALLOWED_HOSTS = ["169.254.0.0/16", "metadata.google.internal", "::/0"]
    with pytest.raises(ValidationError, match="never allowed"):
        DataConnector(name="x", kind="http", config={"url": url}).clean()


def test_a_name_resolving_to_the_metadata_address_is_refused(settings, monkeypatch):
    """A listed name whose DNS answer is 169.254.169.254 (rebinding, a poisoned record)."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "crm.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    settings.IVR_HTTP_ALLOWED_HOSTS = ["crm.example.com"]
    connector = http_connector("http://crm.example.com/latest/meta-data/{account}")
    connector.clean()  # the name is listed; its address is checked on every call
    with pytest.raises(ConnectorError, match="169.254.169.254.*never allowed"):
        registry.lookup("crm", {"account": "1"})
