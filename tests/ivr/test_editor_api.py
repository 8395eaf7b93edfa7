"""The flow editor's API: drafts, validation naming nodes, publish, diff, rollback, the
text simulator, permissions and bad bodies."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from ivr.models import Flow, FlowVersion

pytestmark = pytest.mark.django_db

GRAPH = {
    "start": "hi",
    "nodes": {
        "hi": {"type": "play", "text": "Hello {ani}.", "exits": {"next": "m"}},
        "m": {"type": "menu", "prompt": "Press 1 for sales.", "exits": {"1": "q", "timeout": "q"}},
        "q": {"type": "enter_queue", "queue": "sales"},
    },
    "layout": {"hi": [10, 20]},
}


def client_for(*perms):
    user = User.objects.create_user(f"u{len(perms)}{User.objects.count()}", password="pw")
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(autouse=True)
def queues(db):
    from icm.models import Queue, Site

    site = Site.objects.create(code="e", name="Editor site", sip_domain="e.local")
    for name in ("sales", "support"):
        Queue.objects.create(site=site, name=name, display_name=name.title())


@pytest.fixture
def admin():
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


def test_create_save_publish_and_read_back(admin):
    assert admin.post("/api/ivr/flows/", {"name": "sales-line"}, format="json").status_code == 201
    r = admin.post("/api/ivr/flows/sales-line/versions/", {"graph": GRAPH}, format="json")
    assert r.status_code == 201 and r.json()["number"] == 1 and r.json()["problems"] == []
    r = admin.post("/api/ivr/flows/sales-line/versions/1/publish/")
    assert r.status_code == 200 and r.json()["status"] == "published"
    flow = admin.get("/api/ivr/flows/sales-line/").json()
    assert flow["published"] == 1 and flow["versions"][0]["created_by"] == "root"
    graph = admin.get("/api/ivr/flows/sales-line/versions/1/").json()["graph"]
    assert graph["layout"] == {"hi": [10, 20]}


def test_validation_names_each_node_and_publish_refuses(admin):
    Flow.objects.create(name="f")
    bad = {
        "start": "hi",
        "nodes": {"hi": {"type": "play", "exits": {"next": "ghost"}}, "lost": {"type": "hangup"}},
    }
    r = admin.post("/api/ivr/flows/f/validate/", {"graph": bad}, format="json").json()
    assert not r["valid"]
    messages = {(p["node"], p["message"]) for p in r["problems"]}
    assert ("hi", "exit 'next' leads to missing node 'ghost'") in messages
    assert ("lost", "is unreachable from the start") in messages
    assert any(node == "hi" and "says nothing" in m for node, m in messages)
    admin.post("/api/ivr/flows/f/versions/", {"graph": bad}, format="json")
    r = admin.post("/api/ivr/flows/f/versions/1/publish/")
    assert (
        r.status_code == 400
        and {"node": "lost", "message": "is unreachable from the start"} in r.json()["problems"]
    )
    assert Flow.objects.get(name="f").published_version is None


@pytest.mark.parametrize("body", [{"graph": "nodes"}, {"graph": {"start": "a"}}, {}, {"g": 1}])
def test_malformed_drafts_are_refused_and_nothing_is_saved(admin, body):
    Flow.objects.create(name="f")
    r = admin.post("/api/ivr/flows/f/versions/", body, format="json")
    assert r.status_code == 400 and r.json()
    assert not FlowVersion.objects.exists()


def test_diff_and_rollback(admin):
    Flow.objects.create(name="f")
    admin.post("/api/ivr/flows/f/versions/", {"graph": GRAPH}, format="json")
    admin.post("/api/ivr/flows/f/versions/1/publish/")
    v2 = {
        **GRAPH,
        "nodes": {
            **GRAPH["nodes"],
            "q": {"type": "enter_queue", "queue": "support"},
            "bye": {"type": "hangup"},
        },
    }
    v2["nodes"]["m"] = {**GRAPH["nodes"]["m"], "exits": {"1": "q", "timeout": "bye"}}
    admin.post("/api/ivr/flows/f/versions/", {"graph": v2}, format="json")
    admin.post("/api/ivr/flows/f/versions/2/publish/")
    diff = admin.get("/api/ivr/flows/f/diff/?from=1&to=2").json()
    assert diff["added"] == ["bye"] and diff["removed"] == []
    assert diff["changed"]["q"] == {"queue": ["sales", "support"]}
    assert diff["changed"]["m"]["exits"][1] == {"1": "q", "timeout": "bye"}
    assert admin.get("/api/ivr/flows/f/diff/?from=x").status_code == 400
    r = admin.post("/api/ivr/flows/f/versions/1/rollback/")
    assert r.status_code == 201 and r.json()["number"] == 3
    flow = Flow.objects.get(name="f")
    assert flow.published_version.number == 3
    assert flow.published_version.graph["nodes"]["q"]["queue"] == "sales"
    assert FlowVersion.objects.get(flow=flow, number=2).status == "retired"


def test_the_simulator_runs_the_draft_on_screen(admin):
    Flow.objects.create(name="f")
    r = admin.post(
        "/api/ivr/flows/f/simulate/",
        {"graph": GRAPH, "variables": {"ani": "5551234"}},
        format="json",
    )
    body = r.json()
    assert body["messages"] == ["Hello 5551234.", "Press 1 for sales."]
    assert body["waiting_for"] == "choice" and body["node"] == "m"
    r = admin.post(
        "/api/ivr/flows/f/simulate/", {"session": body["session"], "input": "1"}, format="json"
    )
    assert r.json()["finished"] and r.json()["outcome"]["params"]["queue"] == "sales"
    r = admin.post("/api/ivr/flows/f/simulate/", {"session": "nope", "input": "1"}, format="json")
    assert r.status_code == 404


def test_simulating_a_flow_with_nothing_published_says_so(admin):
    Flow.objects.create(name="f")
    r = admin.post("/api/ivr/flows/f/simulate/", {}, format="json")
    assert r.status_code == 400 and "no published version" in r.json()["detail"]


def test_permissions(admin):
    Flow.objects.create(name="f")
    admin.post("/api/ivr/flows/f/versions/", {"graph": GRAPH}, format="json")
    nobody = client_for()
    assert nobody.get("/api/ivr/flows/f/").status_code == 403
    reader = client_for("ivr.view_flow")
    assert reader.get("/api/ivr/flows/f/").status_code == 200
    assert (
        reader.post("/api/ivr/flows/f/versions/", {"graph": GRAPH}, format="json").status_code
        == 403
    )
    editor = client_for("ivr.view_flow", "ivr.add_flowversion")
    assert (
        editor.post("/api/ivr/flows/f/versions/", {"graph": GRAPH}, format="json").status_code
        == 201
    )
    assert editor.post("/api/ivr/flows/f/versions/1/publish/").status_code == 403
    assert APIClient().get("/api/ivr/flows/").status_code in (401, 403)


def test_readers_simulate_the_published_flow_but_not_a_graph_of_their_own(admin):
    Flow.objects.create(name="f")
    admin.post("/api/ivr/flows/f/versions/", {"graph": GRAPH}, format="json")
    admin.post("/api/ivr/flows/f/versions/1/publish/")
    reader = client_for("ivr.view_flow")
    r = reader.post("/api/ivr/flows/f/simulate/", {}, format="json")
    assert r.status_code == 200 and r.json()["messages"][0] == "Hello 5550100."
    r = reader.post("/api/ivr/flows/f/simulate/", {"graph": GRAPH}, format="json")
    assert r.status_code == 403
