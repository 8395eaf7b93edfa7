"""The icm REST API: authentication, permissions, validation, icm unavailable."""

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient


@pytest.fixture
def viewer(db):
    user = User.objects.create_user("viewer", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_call"))
    return user


@pytest.fixture
def controller(db):
    user = User.objects.create_user("ctl", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="view_call"), Permission.objects.get(codename="change_call")
    )
    return user


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/live/", "/api/calls/"])
def test_anonymous_requests_are_refused(url):
    assert APIClient().get(url).status_code in (401, 403)


@pytest.mark.django_db
def test_viewer_cannot_control_calls(viewer):
    response = client_for(viewer).post("/api/calls/abc/hangup/", {}, format="json")
    assert response.status_code == 403


def test_viewer_reads_live_snapshot(viewer):
    response = client_for(viewer).get("/api/live/")
    assert response.status_code == 200
    assert isinstance(response.json()["switches"], list)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"endpoint": "user/1001; hupall", "destination": "1002"}, "endpoint"),
        ({"endpoint": "user/1001", "destination": "10 02"}, "destination"),
        ({"destination": "1002"}, "endpoint"),
        (
            {"endpoint": "user/1001", "destination": "1002", "caller_id_number": "abc"},
            "caller_id_number",
        ),
    ],
)
def test_malformed_originate_bodies_get_field_errors(controller, body, field):
    response = client_for(controller).post("/api/calls/originate/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_non_json_body_is_a_clear_400(controller):
    response = client_for(controller).post(
        "/api/calls/originate/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_command_without_a_running_icm_is_503(controller):
    response = client_for(controller).post(
        "/api/calls/some-uuid/hangup/?switch=nobody-home", {}, format="json"
    )
    assert response.status_code == 503
    assert "did not answer" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"endpoint": "sofia/gateway/premium/0900123", "destination": "1001"},
            "no enabled gateway",
        ),
        ({"endpoint": "user/1001", "destination": "1002", "context": "public"}, "not allowed"),
    ],
)
def test_originate_refuses_unknown_trunks_and_contexts(controller, body, message):
    response = client_for(controller).post("/api/calls/originate/", body, format="json")
    assert response.status_code == 403
    assert message in response.json()["detail"]
