"""The admin configures every CallCenterDB model; CDRs and the agent state log are read-only."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from agents.models import (
    AddressBookEntry,
    Agent,
    AgentSkill,
    AgentStateChange,
    CallbackAttempt,
    CallbackRetryRule,
    ContactNote,
    DialRule,
    Disposition,
    NotReadyReason,
    ScheduledCallback,
    Skill,
    WorkGroup,
)
from icm.models import (
    Call,
    CallLeg,
    Customer,
    CustomerNumber,
    Extension,
    Gateway,
    Holiday,
    InboundRoute,
    Queue,
    QueueSkill,
    RoutingRule,
    Schedule,
    ScheduledQueueChange,
    ScheduleRule,
    Site,
    Switch,
    SystemEvent,
)
from ivr.models import DataConnector, Flow, FlowVersion, Prompt
from recording.models import (
    Evaluation,
    EvaluationForm,
    EvaluationQuestion,
    Recording,
    RecordingAccess,
    RecordingPolicy,
    RecordOrder,
)
from supervision.models import AuditEntry, Bulletin, BulletinReceipt

pytestmark = pytest.mark.django_db

APPS = {"agents", "icm", "ivr", "supervision", "recording"}
READ_ONLY_MODELS = {
    AgentStateChange,
    Call,
    CallLeg,
    ContactNote,
    ScheduledCallback,
    AuditEntry,
    Bulletin,
    SystemEvent,
    Recording,
    RecordingAccess,
    Evaluation,
}
UPLOADED_MODELS = {Prompt}  # added by uploading in the flow editor, not in the admin
CALL_AT = dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def world():
    """One row of every model, linked together, so list columns and inlines have data."""
    site = Site.objects.create(code="hq", name="Head office", sip_domain="hq.example")
    switch = Switch.objects.create(site=site, name="fs1", esl_password="s3cret-esl")
    Gateway.objects.create(
        switch=switch, name="carrier", proxy="sip.carrier.example", password="gw-secret-pass"
    )
    ext = Extension.objects.create(site=site, number="1001", password="sip-secret-1001")
    skill = Skill.objects.create(name="english")
    group = WorkGroup.objects.create(name="Team A")
    agent = Agent.objects.create(login_id="a1001", name="Alice", extension=ext)
    agent.work_groups.add(group)
    AgentSkill.objects.create(agent=agent, skill=skill, level=7)
    now = timezone.now()
    AgentStateChange.objects.create(agent=agent, switch=switch, at=now, to_state="ready")
    queue = Queue.objects.create(site=site, name="support", display_name="Support")
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=3)
    schedule = Schedule.objects.create(name="Office hours")
    ScheduleRule.objects.create(schedule=schedule, weekday=0, opens=dt.time(8), closes=dt.time(20))
    RoutingRule.objects.create(name="night", schedule=schedule, when="closed", queue=queue)
    NotReadyReason.objects.create(code="lunch", label="Lunch")
    Disposition.objects.create(code="resolved", label="Resolved")
    DialRule.objects.create(name="Premium", pattern="^1900", message="Seniors only.")
    AddressBookEntry.objects.create(name="Head office", number="5550100", note="switchboard")
    ContactNote.objects.create(agent=agent, call_uuid="11111111-aaaa", notes="Sorted out.")
    due = dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC)
    callback = ScheduledCallback.objects.create(
        agent=agent, number="5551234", due_at=due, next_attempt_at=due
    )
    CallbackAttempt.objects.create(callback=callback, number=1, started_at=due, outcome="busy")
    CallbackRetryRule.objects.create(queue=queue, max_attempts=2, spacing_minutes=30)
    ScheduledQueueChange.objects.create(
        queue=queue, apply_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), strategy="ring_all"
    )
    Holiday.objects.create(schedule=schedule, date=dt.date(2030, 1, 1), name="New year")
    DataConnector.objects.create(
        name="balances",
        kind="sql",
        config={"database": "default", "query": "SELECT 1 AS one WHERE %(a)s = ''"},
    )
    Prompt.objects.create(
        name="welcome",
        transcript="Welcome",
        file_name="welcome.wav",
        duration_seconds=1.5,
        sample_rate=8000,
    )
    flow = Flow.objects.create(name="main-menu")
    version = FlowVersion.objects.create(
        flow=flow, number=1, graph={"start": "x"}, status=FlowVersion.Status.PUBLISHED
    )
    flow.published_version = version
    flow.save()
    InboundRoute.objects.create(site=site, name="Main", dnis="8000", flow=flow, schedule=schedule)
    InboundRoute.objects.create(site=site, name="Sales", dnis="8001", queue=queue)
    alpha = Customer.objects.create(name="Alpha Trading", account="ACC-1", grade="vip")
    CustomerNumber.objects.create(customer=alpha, number="5551234", label="mobile")
    beta = Customer.objects.create(name="Beta Works", account="ACC-2")
    CustomerNumber.objects.create(customer=beta, number="5559876")
    call = Call.objects.create(
        switch=switch,
        call_uuid="11111111-aaaa",
        direction="inbound",
        ani="5551234",
        dnis="8000",
        state="ended",
        created_at=CALL_AT,
        ended_at=CALL_AT + dt.timedelta(minutes=3),
        hangup_cause="NORMAL_CLEARING",
        queue=queue,
        agent=agent,
        customer=alpha,
    )
    CallLeg.objects.create(
        call=call, switch=switch, uuid="11111111-aaaa", direction="inbound", created_at=now
    )
    Call.objects.create(
        switch=switch,
        call_uuid="22222222-bbbb",
        direction="outbound",
        ani="1001",
        dnis="5550000",
        created_at=CALL_AT - dt.timedelta(days=400),
    )
    AuditEntry.objects.create(
        username="lead",
        role="team_leader",
        action="force_logout",
        target_kind="agent",
        target="a1001",
        outcome="ok",
    )
    bulletin = Bulletin.objects.create(
        author_name="Lead", text="Meeting at 3", target_kind="agent", target="a1001"
    )
    BulletinReceipt.objects.create(bulletin=bulletin, agent=agent)
    SystemEvent.objects.create(
        at=CALL_AT,
        switch="fs1",
        kind="alarm_raised",
        alarm="switch",
        severity="critical",
        text="switch disconnected",
    )
    policy = RecordingPolicy.objects.create(name="all calls", only_numbers="5550101")
    policy.agents.add(agent)
    RecordOrder.objects.create(agent=agent, starts_at=CALL_AT)
    recording = Recording.objects.create(
        switch="fs1",
        call_uuid=call.call_uuid,
        leg_uuid="leg",
        call=call,
        ani="5550101",
        dnis="8000",
        agent=agent,
        started_at=CALL_AT,
        path="/var/rec/x.wav",
        status="ready",
    )
    RecordingAccess.objects.create(recording=recording, username="lead", kind="listen")
    form = EvaluationForm.objects.create(name="Quality")
    EvaluationQuestion.objects.create(form=form, text="Greeting", weight=2, max_points=5)
    Evaluation.objects.create(recording=recording, form=form, answers={}, score=80.0)
    return {"agent": agent, "ext": ext, "call": call, "alpha": alpha, "beta": beta}


def _registered_models():
    return sorted(
        (m for m in admin.site._registry if m._meta.app_label in APPS),
        key=lambda m: m._meta.label,
    )


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_callcenter_model_is_in_the_admin():
    registered = set(_registered_models())
    expected = {
        Skill,
        WorkGroup,
        Agent,
        AgentStateChange,
        Site,
        Switch,
        Gateway,
        Extension,
        Customer,
        Queue,
        Schedule,
        Holiday,
        InboundRoute,
        Call,
        CallLeg,
        Flow,
        FlowVersion,
    }
    assert expected <= registered


@pytest.mark.parametrize("model", _registered_models(), ids=lambda m: m._meta.label)
def test_changelist_add_and_change_pages_render(superuser_client, world, model):
    response = superuser_client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1

    add = superuser_client.get(_url(model, "add"))
    assert add.status_code == (403 if model in READ_ONLY_MODELS | UPLOADED_MODELS else 200)

    obj = model.objects.first()
    change = superuser_client.get(_url(model, "change", obj.pk))
    assert change.status_code == 200


def test_changelist_search_filters_and_date_drilldown_render(superuser_client, world):
    checks = [
        (Call, {"state__exact": "ended", "direction__exact": "inbound"}),
        (Call, {"hangup_cause": "NORMAL_CLEARING"}),
        (Call, {"created_at__year": "2025"}),
        (Queue, {"strategy__exact": "longest_idle"}),
        (Customer, {"grade__exact": "vip"}),
        (Agent, {"q": "1001"}),
    ]
    for model, params in checks:
        response = superuser_client.get(_url(model, "changelist"), params)
        assert response.status_code == 200, (model, params)
        assert response.context["cl"].result_count == 1, (model, params)


@pytest.mark.parametrize(
    ("query", "expected_uuid"),
    [("5551234", "11111111-aaaa"), ("5550000", "22222222-bbbb"), ("22222222", "22222222-bbbb")],
)
def test_call_search_by_ani_dnis_and_uuid(superuser_client, world, query, expected_uuid):
    response = superuser_client.get(_url(Call, "changelist"), {"q": query})
    found = [c.call_uuid for c in response.context["cl"].result_list]
    assert found == [expected_uuid]


@pytest.mark.parametrize(
    ("query", "expected"), [("5559876", "ACC-2"), ("alpha", "ACC-1"), ("ACC-2", "ACC-2")]
)
def test_customer_search_by_number_name_and_account(superuser_client, world, query, expected):
    response = superuser_client.get(_url(Customer, "changelist"), {"q": query})
    found = [c.account for c in response.context["cl"].result_list]
    assert found == [expected]


def test_extension_password_is_not_in_the_list(superuser_client, world):
    response = superuser_client.get(_url(Extension, "changelist"))
    assert b"1001" in response.content
    assert b"sip-secret-1001" not in response.content


def test_switch_and_gateway_secrets_are_not_in_the_lists(superuser_client, world):
    assert b"s3cret-esl" not in superuser_client.get(_url(Switch, "changelist")).content
    assert b"sip.carrier.example" in superuser_client.get(_url(Gateway, "changelist")).content


def _switch_form(switch, **overrides):
    data = {
        "site": str(switch.site_id),
        "name": switch.name,
        "esl_host": switch.esl_host,
        "esl_port": str(switch.esl_port),
        "esl_password": "",
        "enabled": "on",
        "gateways-TOTAL_FORMS": "0",
        "gateways-INITIAL_FORMS": "0",
        "gateways-MIN_NUM_FORMS": "0",
        "gateways-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_switch_esl_password_is_never_sent_and_kept_when_left_empty(superuser_client, world):
    switch = Switch.objects.get()
    url = _url(Switch, "change", switch.pk)
    assert b"s3cret-esl" not in superuser_client.get(url).content

    response = superuser_client.post(url, _switch_form(switch, esl_host="10.0.0.5"))
    assert response.status_code == 302
    switch.refresh_from_db()
    assert (switch.esl_host, switch.esl_password) == ("10.0.0.5", "s3cret-esl")

    superuser_client.post(url, _switch_form(switch, esl_password="n3w-secret"))
    switch.refresh_from_db()
    assert switch.esl_password == "n3w-secret"


def test_gateway_password_is_never_sent(superuser_client, world):
    gateway = Gateway.objects.get()
    assert (
        b"gw-secret-pass" not in superuser_client.get(_url(Gateway, "change", gateway.pk)).content
    )
    switch_page = superuser_client.get(_url(Switch, "change", gateway.switch_id))
    assert b"gw-secret-pass" not in switch_page.content


def _agent_form(agent, **overrides):
    data = {
        "login_id": agent.login_id,
        "name": agent.name,
        "user": "",
        "active": "on",
        "level": str(agent.level),
        "extension": str(agent.extension_id),
        "work_groups": [],
        "new_phone_bar_password": "",
        "agent_skills-TOTAL_FORMS": "0",
        "agent_skills-INITIAL_FORMS": "0",
        "agent_skills-MIN_NUM_FORMS": "0",
        "agent_skills-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_agent_phone_bar_password_is_hashed_and_never_shown(superuser_client, world):
    agent = world["agent"]
    url = _url(Agent, "change", agent.pk)
    response = superuser_client.post(url, _agent_form(agent, new_phone_bar_password="s3cret-bar"))
    assert response.status_code == 302, response.context["adminform"].form.errors

    agent.refresh_from_db()
    assert agent.phone_bar_password != "s3cret-bar"
    assert agent.check_phone_bar_password("s3cret-bar")

    page = superuser_client.get(url)
    assert agent.phone_bar_password.encode() not in page.content
    assert b'name="phone_bar_password"' not in page.content

    # Saving without a new password keeps the old one.
    superuser_client.post(url, _agent_form(agent, name="Alice B"))
    agent.refresh_from_db()
    assert agent.name == "Alice B"
    assert agent.check_phone_bar_password("s3cret-bar")


def test_new_agent_needs_a_phone_bar_password(superuser_client, world):
    agent = Agent(login_id="a2000", name="Bob", extension=world["ext"])
    response = superuser_client.post(_url(Agent, "add"), _agent_form(agent))
    assert response.status_code == 200
    assert "new_phone_bar_password" in response.context["adminform"].form.errors
    assert not Agent.objects.filter(login_id="a2000").exists()

    response = superuser_client.post(
        _url(Agent, "add"), _agent_form(agent, new_phone_bar_password="pw-2000")
    )
    assert response.status_code == 302
    assert Agent.objects.get(login_id="a2000").check_phone_bar_password("pw-2000")


@pytest.mark.parametrize("model", sorted(READ_ONLY_MODELS, key=lambda m: m._meta.label))
def test_cdr_and_state_log_refuse_add_change_and_delete(superuser_client, world, model):
    obj = model.objects.first()
    count = model.objects.count()

    assert superuser_client.post(_url(model, "add"), {}).status_code == 403
    assert superuser_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    bulk = superuser_client.post(
        _url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert model.objects.count() == count
    assert bulk.status_code in (200, 302)

    change_page = superuser_client.get(_url(model, "change", obj.pk))
    assert change_page.status_code == 200
    assert b'name="_save"' not in change_page.content


def test_published_flow_version_graph_is_read_only(superuser_client, world):
    version = FlowVersion.objects.get()
    response = superuser_client.get(_url(FlowVersion, "change", version.pk))
    assert b'name="graph"' not in response.content
    draft = FlowVersion.objects.create(flow=version.flow, number=2, graph={})
    response = superuser_client.get(_url(FlowVersion, "change", draft.pk))
    assert b'name="graph"' in response.content
