"""The phone-bar sign-in: wrong passwords are counted and throttled, staff accounts never
open through a phone-bar password."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from agents.models import Agent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()


def make_agent(login_id, **user_flags):
    user = User.objects.create_user(login_id, password="web-pw", **user_flags)
    agent = Agent.objects.create(login_id=login_id, name=login_id, user=user)
    agent.set_phone_bar_password("1234")
    agent.save()
    return agent


def test_wrong_passwords_are_throttled(client):
    make_agent("ag1")
    for _ in range(5):
        r = client.post("/agent/sign-in/", {"agent_id": "ag1", "password": "0000"})
        assert r.status_code == 403
    r = client.post("/agent/sign-in/", {"agent_id": "ag1", "password": "1234"})
    assert r.status_code == 429 and b"Too many attempts" in r.content


def test_a_staff_user_cannot_sign_in_with_a_phone_bar_password(client):
    make_agent("lead", is_staff=True)
    r = client.post("/agent/sign-in/", {"agent_id": "lead", "password": "1234"})
    assert r.status_code == 403
    assert "_auth_user_id" not in client.session


def test_unknown_agents_are_refused_like_wrong_passwords(client):
    r = client.post("/agent/sign-in/", {"agent_id": "ghost", "password": "1234"})
    assert r.status_code == 403 and b"Unknown agent ID or wrong password." in r.content


def test_the_desktop_forms_need_their_csrf_token():
    """Sign-in and sign-out are forms: a post from another site (no CSRF token) is refused
    and signs nobody in or out; the page's own form, token included, works."""
    from django.test import Client

    make_agent("ag1")
    browser = Client(enforce_csrf_checks=True)
    r = browser.post("/agent/sign-in/", {"agent_id": "ag1", "password": "1234"})
    assert r.status_code == 403 and "_auth_user_id" not in browser.session
    page = browser.get("/agent/")  # the sign-in form
    token = page.cookies["csrftoken"].value
    r = browser.post(
        "/agent/sign-in/", {"agent_id": "ag1", "password": "1234", "csrfmiddlewaretoken": token}
    )
    assert r.status_code == 302 and "_auth_user_id" in browser.session
    r = browser.post("/agent/sign-out/")  # forged: no token
    assert r.status_code == 403 and "_auth_user_id" in browser.session
