"""Issue 18 item 3: every credential check is limited per account and client address, in Redis.

An attacker who guesses passwords at the sign-in page, the admin's, the API's HTTP Basic
(when it is turned on at all) or the agents' phone-bar sign-in is locked out after a few
failures with 429 and a clear reason; the account's owner still signs in from another
address, behind a trusted proxy too; the lock lives in Redis, so every web process sees it;
it ends after its time or when an administrator resets it.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client

from agents.models import Agent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"
LIMIT = 5  # IPBX_SIGN_IN_FAILURES' default


def make_user(username: str = "boss", password: str = "right-pw", **flags) -> User:
    return User.objects.create_user(username, password=password, **flags)


def make_agent(login_id: str = "ag1", phone_bar: str = "1234") -> Agent:
    user = User.objects.create_user(login_id, password="web-pw-of-" + login_id)
    agent = Agent.objects.create(login_id=login_id, name=login_id, user=user)
    agent.set_phone_bar_password(phone_bar)
    agent.save()
    return agent


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def phone_bar(client: Client, password: str, login_id: str = "ag1", **extra):
    return client.post("/agent/sign-in/", {"agent_id": login_id, "password": password}, **extra)


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_the_sign_in_pages_lock_an_account_for_the_guessing_address_only(url):
    make_user(is_staff=True)
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(LIMIT):
        r = attacker.post(url, {"username": "boss", "password": "guess"})
        assert r.status_code == 200 and not signed_in(attacker)

    r = attacker.post(url, {"username": "boss", "password": "right-pw"})
    assert r.status_code == 429, "the right password after the failures must not open the account"
    assert b"Too many attempts for this account from your address" in r.content
    assert int(r["Retry-After"]) > 0
    assert not signed_in(attacker)

    owner = Client(REMOTE_ADDR=OWNER)
    r = owner.post(url, {"username": "boss", "password": "right-pw"})
    assert r.status_code == 302 and signed_in(owner), "the owner elsewhere is not locked out"


def test_one_address_guessing_many_accounts_is_locked_out(settings):
    """Password spraying: a few tries on each of many accounts still hit the address's limit."""
    settings.IPBX_SIGN_IN_CLIENT_FAILURES = 3
    for name in ("u1", "u2", "u3", "u4"):
        make_user(name, password="pw-" + name)
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for name in ("u1", "u2", "u3"):
        assert (
            attacker.post("/accounts/login/", {"username": name, "password": "x"}).status_code
            == 200
        )
    r = attacker.post("/accounts/login/", {"username": "u4", "password": "pw-u4"})
    assert r.status_code == 429 and b"Too many attempts from your address" in r.content
    r = Client(REMOTE_ADDR=OWNER).post("/accounts/login/", {"username": "u4", "password": "pw-u4"})
    assert r.status_code == 302


def test_the_api_refuses_http_basic_unless_configured():
    """Browsers use their session; a password on every API request is off by default."""
    User.objects.create_superuser("boss", "", "right-pw")
    r = Client().get("/api/config/skills/", HTTP_AUTHORIZATION=basic("boss", "right-pw"))
    assert r.status_code in (401, 403)


def test_the_phone_bar_lock_is_in_redis_not_in_process_memory():
    make_agent()
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(LIMIT):
        assert phone_bar(attacker, "0000").status_code == 403
    caches["default"].clear()  # another web process: nothing of this one's memory

    r = phone_bar(attacker, "1234")
    assert r.status_code == 429 and not signed_in(attacker)
    assert b"Too many attempts for this account from your address" in r.content

    owner = Client(REMOTE_ADDR=OWNER)
    assert phone_bar(owner, "1234").status_code == 302 and signed_in(owner)


def test_behind_a_trusted_proxy_one_agent_guessing_does_not_lock_the_others_out(settings):
    """Every request comes from the proxy's address; X-Forwarded-For names the client."""
    settings.IPBX_TRUSTED_PROXIES = ["10.0.0.0/8"]
    make_agent()
    through_proxy = Client(REMOTE_ADDR="10.0.0.2")
    for _ in range(LIMIT):
        assert phone_bar(through_proxy, "0000", HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 403
    assert phone_bar(through_proxy, "1234", HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429

    # a forged left-most entry does not help: the proxy appended the real address
    forged = f"{OWNER}, {ATTACKER}"
    assert phone_bar(through_proxy, "1234", HTTP_X_FORWARDED_FOR=forged).status_code == 429

    r = phone_bar(through_proxy, "1234", HTTP_X_FORWARDED_FOR=OWNER)
    assert r.status_code == 302 and signed_in(through_proxy)


def test_a_forged_forwarded_for_header_from_an_untrusted_peer_is_ignored():
    make_user()
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for n in range(LIMIT):  # a new "address" on every try
        attacker.post(
            "/accounts/login/",
            {"username": "boss", "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
    r = attacker.post(
        "/accounts/login/",
        {"username": "boss", "password": "right-pw"},
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert r.status_code == 429


def test_the_lockout_ends_by_itself(settings):
    import time

    settings.IPBX_SIGN_IN_LOCKOUT_SECONDS = 1
    make_agent()
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(LIMIT):
        phone_bar(attacker, "0000")
    assert phone_bar(attacker, "1234").status_code == 429
    time.sleep(2.1)
    assert phone_bar(attacker, "1234").status_code == 302


def test_an_administrator_unlocks_with_a_management_command():
    make_user()
    make_agent()
    locked = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(LIMIT):
        locked.post("/accounts/login/", {"username": "boss", "password": "guess"})
        phone_bar(locked, "0000")
    assert (
        locked.post("/accounts/login/", {"username": "boss", "password": "right-pw"}).status_code
        == 429
    )
    assert phone_bar(locked, "1234").status_code == 429

    call_command("reset_sign_in_lockouts", account="boss")
    assert (
        locked.post("/accounts/login/", {"username": "boss", "password": "right-pw"}).status_code
        == 302
    )
    assert phone_bar(Client(REMOTE_ADDR=ATTACKER), "1234").status_code == 429  # ag1: not reset
    call_command("reset_sign_in_lockouts", address=ATTACKER)
    assert phone_bar(Client(REMOTE_ADDR=ATTACKER), "1234").status_code == 302


def test_parallel_tries_cannot_pass_the_limit():
    """Counting is atomic: twenty simultaneous guesses get at most LIMIT password checks."""
    from accounts import throttle

    allowed, barrier = [], threading.Barrier(20)

    def guess() -> None:
        barrier.wait()
        try:
            throttle.begin_attempt(throttle.PHONE_BAR, "ag1", ATTACKER)
        except throttle.SignInLocked:
            return
        allowed.append(1)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == LIMIT
    assert throttle.failures(throttle.PHONE_BAR, "ag1", ATTACKER) == LIMIT


# --- in another process: the lock is shared, HTTP Basic when configured -------------------

OTHER_PROCESS = """
import json, sys
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
results = []
for address, kind, password in json.loads(sys.argv[1]):
    client = Client(REMOTE_ADDR=address)
    if kind == "phone-bar":
        r = client.post("/agent/sign-in/", {"agent_id": "ag1", "password": password})
    else:
        auth = "Basic " + __import__("base64").b64encode(f"boss:{password}".encode()).decode()
        r = client.get("/api/config/skills/", HTTP_AUTHORIZATION=auth)
    results.append(r.status_code)
print(json.dumps(results))
"""


def in_another_process(tries: list[tuple[str, str, str]], **env: str) -> list[int]:
    """Status codes of these tries made by a separate Python process on the test database."""
    import json

    url = urlsplit(os.environ["DATABASE_URL"])
    database_url = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, json.dumps(tries)],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ipbx_project.settings.test",
            "DATABASE_URL": database_url,
            **env,
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_a_lock_set_by_one_process_holds_in_another():
    make_agent()
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(LIMIT):
        assert phone_bar(attacker, "0000").status_code == 403
    assert in_another_process([(ATTACKER, "phone-bar", "1234"), (OWNER, "phone-bar", "1234")]) == [
        429,
        302,
    ]


@pytest.mark.django_db(transaction=True)
def test_http_basic_when_configured_is_limited_like_the_sign_in_page():
    User.objects.create_superuser("boss", "", "right-pw")
    tries = [(ATTACKER, "basic", "guess")] * LIMIT
    tries += [(ATTACKER, "basic", "right-pw"), (OWNER, "basic", "right-pw")]
    codes = in_another_process(tries, IPBX_API_BASIC_AUTH="1")
    assert all(code in (401, 403) for code in codes[:LIMIT])
    assert codes[LIMIT:] == [429, 200], "locked for the guessing address, open to the owner"
