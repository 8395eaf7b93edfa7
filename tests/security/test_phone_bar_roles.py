"""Issue 18 item 6: the short phone-bar password never opens a supervisor's or administrator's
session, whatever gives the role (a group, leading a work group, staff, superuser)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from agents.models import Agent, WorkGroup

pytestmark = pytest.mark.django_db

REFUSED = b"supervisor or administrator rights"


def make_agent(login_id: str = "ag1", **flags) -> Agent:
    user = User.objects.create_user(login_id, password="a-long-web-password", **flags)
    agent = Agent.objects.create(login_id=login_id, name=login_id, user=user)
    agent.set_phone_bar_password("1234")
    agent.save()
    return agent


def sign_in(client: Client, login_id: str = "ag1", password: str = "1234"):
    return client.post("/agent/sign-in/", {"agent_id": login_id, "password": password})


def in_group(name: str):
    def grant(user: User) -> None:
        user.groups.add(Group.objects.get_or_create(name=name)[0])

    return grant


def leads_a_work_group(user: User) -> None:
    WorkGroup.objects.create(name="team-a").leaders.add(user)


@pytest.mark.parametrize(
    "grant",
    [in_group("Team leaders"), in_group("Administrators"), leads_a_work_group],
    ids=["team-leaders-group", "administrators-group", "work-group-leader"],
)
def test_a_phone_bar_password_never_opens_a_supervisor_or_administrator(client, grant):
    agent = make_agent()
    grant(agent.user)
    r = sign_in(client)
    assert r.status_code == 403
    assert REFUSED in r.content and b"/accounts/login/" in r.content
    assert "_auth_user_id" not in client.session
    assert client.get("/api/agent/desktop/").status_code in (401, 403)


@pytest.mark.parametrize("flags", [{"is_staff": True}, {"is_superuser": True}])
def test_staff_and_superusers_are_refused_with_the_same_clear_message(client, flags):
    make_agent(**flags)
    r = sign_in(client)
    assert r.status_code == 403 and REFUSED in r.content
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_does_not_reveal_the_role(client):
    make_agent(is_superuser=True)
    r = sign_in(client, password="0000")
    assert r.status_code == 403 and REFUSED not in r.content
    assert b"Unknown agent ID or wrong password." in r.content


def test_a_plain_agent_still_signs_in(client):
    make_agent()
    r = sign_in(client)
    assert r.status_code == 302 and "_auth_user_id" in client.session
