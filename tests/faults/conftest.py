"""The fault-injection harness's call centre: one queue, four agents whose phones answer,
a route to the queue; the platform (switchsim + icm) started by each test with its faults
in place (a proxy in front of icm's database, Redis or switch)."""

from __future__ import annotations

import os
import uuid
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from agents.models import Agent, AgentSkill, Skill
from icm.models import Extension, InboundRoute, Queue, QueueSkill, Site
from ivr.actions import check_publish
from ivr.models import Flow, FlowVersion
from recording.models import RecordingPolicy
from tests.fixtures.faults import TcpProxy, terminate_backends
from tests.fixtures.processes import test_database_url

AGENTS = ["fa1", "fa2", "fa3", "fa4"]
DNIS = "8400"  # straight to the queue
FLOW_DNIS = "8401"  # a welcome flow, then the queue
WELCOME_FLOW = {
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "play", "text": "Welcome.", "exits": {"next": "queue"}},
        "queue": {"type": "enter_queue", "queue": "faults"},
    },
}


@pytest.fixture
def call_center(transactional_db):
    site = Site.objects.create(code="flt", name="Fault site", sip_domain="faults.local")
    skill = Skill.objects.create(name="faults")
    queue = Queue.objects.create(
        site=site,
        name="faults",
        display_name="Faults",
        strategy="longest_idle",
        wrap_up_seconds=1,
        strategy_parameters={"ring_timeout": 5},
    )
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=1)
    InboundRoute.objects.create(site=site, name="faults", dnis=DNIS, queue=queue)
    flow = Flow.objects.create(name="faults-welcome")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=WELCOME_FLOW))
    InboundRoute.objects.create(site=site, name="faults-flow", dnis=FLOW_DNIS, flow=flow)
    for n, login in enumerate(AGENTS, start=1):
        ext = Extension.objects.create(site=site, number=f"140{n}", password="x")
        agent = Agent.objects.create(login_id=login, name=f"Fault {n}", extension=ext)
        AgentSkill.objects.create(agent=agent, skill=skill, level=5)
    RecordingPolicy.objects.create(name="faults: every call")
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("fsup", "f@example.com", "pw"))
    return client


def sign_in_all(client: APIClient, platform) -> None:
    esl = platform.control()
    for n, login in enumerate(AGENTS, start=1):
        esl.api(f"sim_register 140{n} answer:0.2")
        response = client.post(
            f"/api/agents/{login}/state/",
            {"state": "login", "switch": platform.switch},
            format="json",
        )
        assert response.status_code == 200, response.content
    esl.close()


@pytest.fixture
def database_proxy(transactional_db):
    """A proxy in front of the test database: icm's PostgreSQL, to stop and start."""
    parts = urlsplit(test_database_url())
    hostport = parts.netloc.rsplit("@", 1)[-1]  # as written (.hostname lowercases a path)
    host, _, port_text = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    host, port = unquote(host or "127.0.0.1"), int(port_text or 5432)
    if host.startswith("/"):  # a socket directory (the embedded server): its socket file
        host = f"{host}/.s.PGSQL.{port}"
    proxy = TcpProxy(host, port)
    name = f"ipbx-faults-{uuid.uuid4().hex[:8]}"  # how the server knows icm's sessions
    proxy.before_down = terminate_backends(test_database_url(), name)
    user = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    netloc = f"{user}@127.0.0.1:{proxy.port}" if user else f"127.0.0.1:{proxy.port}"
    query = f"{parts.query}&application_name={name}" if parts.query else f"application_name={name}"
    proxy.url = urlunsplit(parts._replace(netloc=netloc, query=query))  # type: ignore[attr-defined]
    yield proxy
    proxy.close()


@pytest.fixture
def redis_proxy():
    """A proxy in front of the test Redis: icm's bus, to stop and start."""
    parts = urlsplit(os.environ["REDIS_URL"])
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    netloc = f"127.0.0.1:{proxy.port}"
    if "@" in parts.netloc:
        netloc = f"{parts.netloc.rsplit('@', 1)[0]}@{netloc}"
    proxy.url = urlunsplit(parts._replace(netloc=netloc))  # type: ignore[attr-defined]
    yield proxy
    proxy.close()
