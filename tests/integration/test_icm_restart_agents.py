"""An icm killed with -9 and restarted keeps its agents (issue 17, defect 3): signed-in agents
stay signed in, an agent on a call is linked back to that call (its hang-up ends it as usual)
and is never offered a second call, even when its page signs it in again."""

from __future__ import annotations

import json

import redis
from django.conf import settings

from agents.models import AgentSessionState
from icm.bus import keys
from icm.models import Call
from tests.fixtures.processes import start_icm
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import call_center, set_state, transitions  # noqa: F401


def live_state(switch: str, agent: str) -> str:
    raw = redis.Redis.from_url(settings.REDIS_URL).hget(keys.agents_key(switch), agent)
    return json.loads(raw)["state"] if raw else ""


def test_agents_keep_their_sessions_and_calls_across_an_icm_crash(call_center, platform_factory):  # noqa: F811
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    esl.api("sim_register 1102 answer:0.2")
    set_state(call_center, platform, "ag1", "login")  # first in top-down order
    customer = esl.api("sim_call 5550061 8123 talk=600").split()[1]
    wait_until(
        lambda: ("reserved", "on_call", "") in transitions("ag1"),
        timeout=20,
        what="ag1 on the first call",
    )
    set_state(call_center, platform, "ag2", "login")
    set_state(call_center, platform, "ag2", "not_ready")
    wait_until(lambda: live_state(platform.switch, "ag2") == "not_ready", what="ag2 not ready")
    wait_until(
        lambda: AgentSessionState.objects.filter(agent__login_id="ag2", state="not_ready").exists(),
        what="ag2's session saved",
    )

    platform.icm.crash()  # kill -9: no goodbye, nothing flushed on the way out
    platform.icm = start_icm(platform.switch, platform.esl_port, platform.outbound_port)
    platform.icm.wait_log("resync with", timeout=30)
    platform.icm.wait_log("agent ag1: back on its call", timeout=20)
    assert live_state(platform.switch, "ag1") == "on_call"
    assert live_state(platform.switch, "ag2") == "not_ready"

    # the desktop signs ag1 in again: it stays on its call, nothing is offered to it
    assert set_state(call_center, platform, "ag1", "login")["state"] == "on_call"
    set_state(call_center, platform, "ag2", "ready")
    assert esl.api("sim_call 5550062 8123 talk=600").startswith("+OK")
    second = wait_until(
        lambda: Call.objects.filter(ani="5550062", agent__isnull=False).first(),
        timeout=30,
        what="the second call to reach an agent",
    )
    assert second.agent.login_id == "ag2", "ag1 is on a call: it must not be offered another"
    assert live_state(platform.switch, "ag1") == "on_call"

    # the first customer hangs up: ag1's call ends as any call does (wrap-up)
    assert esl.api(f"uuid_kill {customer}").startswith("+OK")
    wait_until(
        lambda: ("on_call", "wrap_up", "hang-up") in _with_trigger("ag1"),
        timeout=20,
        what="ag1 to wrap up after its customer hung up",
    )
    esl.close()


def test_an_agent_whose_call_ended_while_icm_was_down_wraps_up(call_center, platform_factory):  # noqa: F811
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    customer = esl.api("sim_call 5550063 8123 talk=600").split()[1]
    wait_until(
        lambda: ("reserved", "on_call", "") in transitions("ag1"),
        timeout=20,
        what="ag1 on the call",
    )
    # icm saved the agent on its call (the session row follows the state log's row in the
    # same persist beat: killed between the two, icm had only saved the ringing offer)
    wait_until(
        lambda: AgentSessionState.objects.filter(agent__login_id="ag1", state="on_call").exists(),
        timeout=20,
        what="ag1's session saved on the call",
    )
    platform.icm.crash()
    assert esl.api(f"uuid_kill {customer}").startswith("+OK")  # the call ends meanwhile
    platform.icm = start_icm(platform.switch, platform.esl_port, platform.outbound_port)
    platform.icm.wait_log("agent ag1: its call", timeout=30)
    # wrap-up (1 s in this queue), then ready again: signed in all along
    wait_until(
        lambda: ("wrap_up", "ready", "") in transitions("ag1"),
        timeout=20,
        what="ag1 ready after its wrap-up",
    )
    assert live_state(platform.switch, "ag1") == "ready"
    esl.close()


def _with_trigger(agent: str) -> list[tuple[str, str, str]]:
    from agents.models import AgentStateChange

    return list(
        AgentStateChange.objects.filter(agent__login_id=agent)
        .order_by("at", "id")
        .values_list("from_state", "to_state", "trigger")
    )
