"""Production settings refuse default secrets and an unprotected event socket."""

import os
import subprocess
import sys

import pytest

GOOD_ENV = {
    "DJANGO_SETTINGS_MODULE": "ipbx_project.settings.prod",
    "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-0123456789",
    "FREESWITCH_ESL_PASSWORD": "s3cret-esl-password",
    "FREESWITCH_ESL_HOST": "127.0.0.1",
    "XML_CURL_SECRET": "xml-curl-secret-of-24-characters",
    "DJANGO_ALLOWED_HOSTS": "ipbx.example.com",
    "IVR_SQL_DATABASE_URL": "postgresql://ipbx_ivr_reader@127.0.0.1:5432/ipbx",  # ivr.W001
    "REDIS_URL": "redis://:s3cret-redis-password@127.0.0.1:6379/0",
}


def _load_prod(overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GOOD_ENV}
    env.update(GOOD_ENV)
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('loaded')"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_prod_settings_load_with_real_secrets():
    result = _load_prod({})
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"FREESWITCH_ESL_PASSWORD": "ClueCon"}, "ClueCon"),
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY"),
        ({"FREESWITCH_ESL_HOST": "10.1.2.3"}, "FREESWITCH_ESL_ACL"),
        ({"XML_CURL_SECRET": ""}, "XML_CURL_SECRET"),
    ],
)
def test_prod_settings_refuse_defaults(overrides, message):
    result = _load_prod(overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_prod_settings_accept_remote_esl_with_acl():
    result = _load_prod({"FREESWITCH_ESL_HOST": "10.1.2.3", "FREESWITCH_ESL_ACL": "10.1.2.0/24"})
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean():
    env = {k: v for k, v in os.environ.items() if k not in GOOD_ENV}
    env.update(GOOD_ENV)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _channel_prefix(redis_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in GOOD_ENV}
    env.update(GOOD_ENV, REDIS_URL=redis_url)
    code = (
        "from django.conf import settings; "
        "print(settings.CHANNEL_LAYERS['default']['CONFIG']['prefix'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_installations_on_different_redis_databases_do_not_share_live_groups():
    """Redis pub/sub ignores the database number: a site on database 3 of a shared Redis server
    must not hear the desktop sign-outs and bulletins of the site on database 0."""
    site_a = _channel_prefix("redis://:pw@127.0.0.1:6379/0")
    site_b = _channel_prefix("redis://:pw@127.0.0.1:6379/3")
    assert site_a == "asgi"  # unchanged for a single installation: live sockets keep working
    assert site_b != site_a
