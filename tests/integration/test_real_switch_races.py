"""What a real FreeSWITCH does that a naive controller gets wrong (issue 17, defects 1 and 2),
under switchsim's models of it:

- an originate job answers `-ERR ORIGINATOR_CANCEL` when its leg was answered and bridged
  before the job returned (both orders are tested: the reply after the bridge, and before);
- events arrive out of Event-Sequence order (a reorder window): no spurious "switch
  restarted" resync, and every call still ends exactly once.
"""

from __future__ import annotations

import time

import pytest

from icm.models import Call
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import call_center, set_state, transitions  # noqa: F401


@pytest.mark.parametrize(
    "reply_delay", ["0.3", "0"], ids=["job-reply-after-bridge", "job-reply-before-bridge"]
)
def test_an_agent_stays_on_its_call_whatever_the_originate_job_answers(
    call_center,  # noqa: F811
    platform_factory,
    reply_delay,
):
    platform = platform_factory("--originate-reply-delay", reply_delay)
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    esl.api("sim_register 1102 answer:0.2")
    set_state(call_center, platform, "ag1", "login")  # first in top-down order
    assert esl.api("sim_call 5550071 8123 talk=4").startswith("+OK")
    wait_until(
        lambda: ("reserved", "on_call", "") in transitions("ag1"),
        timeout=20,
        what="ag1 on the call",
    )
    set_state(call_center, platform, "ag2", "login")
    time.sleep(1)  # the job's reply (whatever it says) has arrived by now
    assert [t[1] for t in transitions("ag1")][-1] == "on_call", transitions("ag1")

    # a second caller while ag1 talks goes to ag2, never to ag1
    assert esl.api("sim_call 5550072 8123 talk=1").startswith("+OK")
    second = wait_until(
        lambda: Call.objects.filter(ani="5550072", agent__isnull=False).first(),
        timeout=20,
        what="the second call to reach an agent",
    )
    assert second.agent.login_id == "ag2"
    first = wait_until(
        lambda: Call.objects.filter(ani="5550071", ended_at__isnull=False).first(),
        timeout=20,
        what="the first call to end",
    )
    assert first.agent.login_id == "ag1" and first.bridged_at is not None
    wait_until(
        lambda: ("on_call", "wrap_up", "") in transitions("ag1"),
        timeout=10,
        what="ag1's wrap-up after its customer hung up",
    )
    states = [t[1] for t in transitions("ag1")]
    assert states[:4] == ["ready", "reserved", "on_call", "wrap_up"], states
    if reply_delay != "0":
        assert "ORIGINATOR_CANCEL, but the leg is on the switch" in platform.icm.log()
    esl.close()


def test_events_out_of_sequence_order_are_not_a_switch_restart(call_center, platform_factory):  # noqa: F811
    platform = platform_factory("--reorder-window", "4", "--seed", "17")
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    for n in range(6):
        assert esl.api(f"sim_call 555008{n} 8123 talk=0.5 patience=30").startswith("+OK")
    wait_until(
        lambda: Call.objects.filter(ani__startswith="555008", ended_at__isnull=False).count() == 6,
        timeout=60,
        what="six calls answered by ag1 and ended",
    )
    log = platform.icm.log()
    assert "resyncing" not in log, "out-of-order events taken for a switch restart"
    assert log.count("resync with") <= 2, "resyncs beyond the connect and its settle pass"
    for call in Call.objects.filter(ani__startswith="555008"):
        assert call.agent.login_id == "ag1" and call.bridged_at is not None
    esl.close()


def test_a_hang_up_missed_while_away_ends_the_call_although_show_channels_lags(platform_factory):
    """FreeSWITCH's channel list lags hang-ups: the resync right after a reconnect may still
    list a call that ended while icm was cut off; the settling resync ends it."""
    platform = platform_factory("--show-channels-lag", "2")
    esl = platform.control()
    uuids = [esl.api(f"sim_call 555009{n} 9199 talk=600").split()[1] for n in range(3)]
    live = Call.objects.filter(switch__name=platform.switch, ended_at__isnull=True)
    wait_until(lambda: live.count() == 3, timeout=20, what="three live calls")
    assert esl.api("sim_drop_esl").startswith("+OK")
    assert esl.api(f"uuid_kill {uuids[0]}").startswith("+OK")  # while icm is away
    platform.icm.wait_log("resync with 3 legs", timeout=20)  # the lagging list
    wait_until(lambda: live.count() == 2, timeout=20, what="the missed hang-up applied")
    gone = Call.objects.get(switch__name=platform.switch, ani="5550090")
    assert gone.ended_at is not None and gone.hangup_cause
    esl.api("hupall NORMAL_CLEARING")
    esl.close()


def test_an_agent_whose_call_ended_while_icm_was_cut_off_is_freed_at_the_resync(
    call_center,  # noqa: F811
    platform_factory,
):
    """No waiting for the reconciler (set to a minute here): the resync that ends the call
    ends the agent's call too, as a hang-up would."""
    platform = platform_factory(ICM_RECONCILE_INTERVAL="60")
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    assert esl.api("sim_call 5550095 8123 talk=600").startswith("+OK")
    wait_until(
        lambda: ("reserved", "on_call", "") in transitions("ag1"),
        timeout=20,
        what="ag1 on the call",
    )
    assert esl.api("sim_drop_esl").startswith("+OK")
    esl.api("hupall NORMAL_CLEARING")  # its hang-up events are lost with the connection
    wait_until(
        lambda: ("on_call", "wrap_up", "") in transitions("ag1"),
        timeout=15,
        what="ag1's call ended by the resync",
    )
    assert "repaired agent" not in platform.icm.log()
    esl.close()
