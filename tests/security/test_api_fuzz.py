"""The REST API against its own OpenAPI description (issue 18 item 12): schemathesis sends
every operation of /api/schema/ valid and invalid requests as a signed-in administrator, on
the real PostgreSQL and Redis, with icm not running; no answer may be a server error and
every answer must match the schema. Also: the schema is served, and the docs page is staff's."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

# Examples per operation: about 60 operations, the whole file within ~3 minutes.
EXAMPLES = 25


def _as_administrator(raw: dict[str, Any]) -> dict[str, Any]:
    """The schema without its security schemes: schemathesis would otherwise replace the
    administrator's session cookie with generated ones (anonymous requests are refused
    before any view runs; test_basic_auth_* covers the credential check itself)."""
    raw["components"].pop("securitySchemes", None)
    for operations in raw["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return raw


schema = schemathesis.openapi.from_dict(
    _as_administrator(SchemaGenerator().get_schema(request=None, public=True))
)
schema.app = get_wsgi_application()


@pytest.fixture
def as_admin(db, client, settings) -> Iterator[dict[str, Any]]:
    """An administrator's session cookie and a CSRF token (session auth checks CSRF); the
    WSGI requests run inside the test's transaction, as Django's test client's do. icm is not
    running: commands to the switch must come back 503 (quickly, here) or be refused first."""
    settings.ICM_COMMAND_REPLY_TIMEOUT = 0.05
    admin = get_user_model().objects.create_superuser("fuzz-admin", "fuzz@example.com", "pw")
    client.force_login(admin)
    token = secrets.token_hex(32)
    session = client.cookies["sessionid"].value
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield {
            "cookies": {"sessionid": session, "csrftoken": token},
            "headers": {"X-CSRFToken": token},
        }
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_operation(case, as_admin) -> None:
    # each request in a savepoint, as each is its own transaction in production
    with transaction.atomic():
        case.call_and_validate(**as_admin, checks=[no_server_error, response_schema_conformance])


@schemathesis.check
def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, except the documented 503 of an operation that needs icm (not running here)."""
    if response.status_code == 503 and "503" in case.operation.definition.raw["responses"]:
        assert response.json()["detail"]
        return None
    return not_a_server_error(ctx, response, case)


def test_every_operation_is_fuzzed() -> None:
    """The parametrized test above covers the whole API, not a handful of endpoints."""
    operations = [op.ok() for op in schema.get_all_operations()]
    paths = {op.path for op in operations}
    assert len(operations) >= 60
    for path in (
        "/api/calls/originate/",
        "/api/agents/{login_id}/dial/",
        "/api/campaigns/{name}/{action}/",
        "/api/ivr/flows/{name}/simulate/",
    ):
        assert path in paths


@pytest.mark.django_db
def test_schema_is_served_to_signed_in_users(client) -> None:
    assert client.get("/api/schema/").status_code in (401, 403)
    user = get_user_model().objects.create_user("reader", password="pw")
    client.force_login(user)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    body = response.json()
    assert body["openapi"].startswith("3.")
    assert "/api/calls/originate/" in body["paths"]


@pytest.mark.django_db
def test_docs_page_is_for_staff_only(client) -> None:
    assert client.get("/api/docs/").status_code in (401, 403)
    user = get_user_model().objects.create_user("agent-like", password="pw")
    client.force_login(user)
    assert client.get("/api/docs/").status_code == 403
    user.is_staff = True
    user.save()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    # served from the installed sidecar package, never from a CDN
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()


@pytest.mark.django_db
def test_nul_character_in_a_body_is_a_field_error_not_a_500(admin_client) -> None:
    """Found by the fuzzer: a NUL looked up by a slug field crashed PostgreSQL's driver."""
    response = admin_client.post(
        "/api/config/agent-skills/",
        {"agent": "a1\x00", "skill": "sales", "level": 1},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"agent": ["Null characters are not allowed."]}


@pytest.mark.django_db
def test_nul_character_in_a_query_string_is_refused(admin_client) -> None:
    response = admin_client.get("/api/supervision/events/", {"subject": "x\x00"})
    assert response.status_code == 400
    assert response.json() == {"subject": ["Null characters are not allowed."]}


@pytest.mark.django_db
def test_basic_auth_with_a_nul_character_is_refused_not_a_500(rf) -> None:
    """Anyone could get a 500 from any API path with such credentials (where HTTP Basic is
    on: IPBX_API_BASIC_AUTH); the API's Basic authentication refuses them as wrong ones."""
    import base64

    from rest_framework.exceptions import AuthenticationFailed

    from ipbx_project.api_input import BasicAuthentication

    token = base64.b64encode(b"admin\x00:secret").decode()
    request = rf.get("/api/calls/", HTTP_AUTHORIZATION=f"Basic {token}")
    with pytest.raises(AuthenticationFailed):
        BasicAuthentication().authenticate(request)
