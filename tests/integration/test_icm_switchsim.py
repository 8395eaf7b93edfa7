"""icm against switchsim over the real ESL wire: CDRs, bridged legs, reconnect + resync."""

import json
import time

from django.db.models import Count

from icm.models import Call, CallLeg, Switch
from tests.fixtures.esl_client import free_port
from tests.fixtures.processes import start_icm
from tests.fixtures.waiting import wait_until


def ended_calls(switch, **filters):
    return Call.objects.filter(switch__name=switch, ended_at__isnull=False, **filters)


def test_inbound_call_produces_exactly_one_cdr(platform):
    esl = platform.control()
    reply = esl.api("sim_call 5551234 9199 patience=1.5")
    assert reply.startswith("+OK"), reply
    call = wait_until(
        lambda: ended_calls(platform.switch, ani="5551234").first(),
        timeout=20,
        what="the call's CDR",
    )
    assert Call.objects.filter(switch__name=platform.switch, ani="5551234").count() == 1
    assert call.dnis == "9199"
    assert call.direction == "inbound"
    assert call.answered_at is not None
    assert call.created_at <= call.answered_at <= call.ended_at
    assert 0.5 < (call.ended_at - call.answered_at).total_seconds() < 5
    assert call.hangup_cause == "NORMAL_CLEARING"
    assert call.state == "ended"
    assert Switch.objects.get(name=platform.switch).status == Switch.Status.CONNECTED
    esl.close()


def test_bridged_call_has_both_legs(platform):
    esl = platform.control()
    assert esl.api("sim_register 1002 answer:0.2").startswith("+OK")
    reply = esl.api("sim_call 5552000 1002 context=default talk=1")
    assert reply.startswith("+OK"), reply
    call = wait_until(
        lambda: ended_calls(platform.switch, ani="5552000").first(), timeout=20, what="CDR"
    )
    legs = list(call.legs.order_by("created_at"))
    assert len(legs) == 2, [leg.channel_name for leg in legs]
    a_leg, b_leg = legs
    assert a_leg.direction == "inbound" and b_leg.direction == "outbound"
    assert b_leg.dnis == "1002" or "1002" in b_leg.channel_name
    assert a_leg.other_leg_uuid == b_leg.uuid and b_leg.other_leg_uuid == a_leg.uuid
    assert call.bridged_at is not None
    assert all(leg.hungup_at is not None and leg.answered_at is not None for leg in legs)
    esl.close()


def _park_calls(esl, count, prefix):
    uuids = []
    for i in range(count):
        reply = esl.api(f"sim_call {prefix}{i:03d} 9199 talk=600")
        assert reply.startswith("+OK"), reply
        uuids.append(reply.split()[1])
    return uuids


def _live(switch):
    return Call.objects.filter(switch__name=switch, ended_at__isnull=True)


def test_dropped_esl_connection_resyncs_without_loss_or_duplicates(platform):
    esl = platform.control()
    uuids = _park_calls(esl, 50, "7000")
    wait_until(
        lambda: _live(platform.switch).filter(answered_at__isnull=False).count() == 50,
        timeout=30,
        what="50 answered live calls",
    )
    assert esl.api("sim_drop_esl").startswith("+OK")
    # While icm is cut off: 10 callers hang up and 5 new calls arrive.
    for uuid in uuids[:10]:
        assert esl.api(f"uuid_kill {uuid}").startswith("+OK")
    _park_calls(esl, 5, "7100")
    platform.icm.wait_log("resync with", timeout=20)
    wait_until(lambda: _live(platform.switch).count() == 45, timeout=20, what="45 live calls")
    # every call exactly once
    dupes = (
        Call.objects.filter(switch__name=platform.switch)
        .values("call_uuid")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not dupes.exists()
    assert Call.objects.filter(switch__name=platform.switch).count() == 55
    assert ended_calls(platform.switch).count() == 10
    # hang everything up: none left live
    esl.api("hupall NORMAL_CLEARING")
    wait_until(lambda: not _live(platform.switch).exists(), timeout=20, what="no live call")
    assert not CallLeg.objects.filter(switch__name=platform.switch, hungup_at__isnull=True).exists()
    esl.close()


def test_switch_shutdown_hangs_calls_up_with_its_cause(platform):
    esl = platform.control()
    _park_calls(esl, 5, "7250")
    wait_until(lambda: _live(platform.switch).count() == 5, timeout=30, what="5 live calls")
    esl.close()
    platform.restart_switchsim()
    wait_until(lambda: not _live(platform.switch).exists(), timeout=20, what="no live call")
    causes = set(ended_calls(platform.switch).values_list("hangup_cause", flat=True))
    assert causes == {"SYSTEM_SHUTDOWN"}


def test_switch_crash_ends_calls_that_died_with_it(platform):
    esl = platform.control()
    _park_calls(esl, 50, "7200")
    wait_until(lambda: _live(platform.switch).count() == 50, timeout=30, what="50 live calls")
    esl.close()
    platform.restart_switchsim(crash=True)
    platform.icm.wait_log("resync with 0 legs", timeout=30)
    wait_until(lambda: not _live(platform.switch).exists(), timeout=20, what="no live call")
    causes = set(ended_calls(platform.switch).values_list("hangup_cause", flat=True))
    assert causes == {"ICM_RESYNC_NOT_ON_SWITCH"}
    assert Call.objects.filter(switch__name=platform.switch).count() == 50


def test_half_open_connection_is_detected_by_missing_heartbeats(platform):
    esl = platform.control()
    assert esl.api("sim_pause_esl 8").startswith("+OK")
    platform.icm.wait_log("no HEARTBEAT", timeout=15)
    platform.icm.wait_log("resync with", timeout=20)
    assert platform.icm.alive()
    esl.close()


def test_icm_restart_rebuilds_live_state(platform):
    esl = platform.control()
    _park_calls(esl, 5, "7300")
    wait_until(lambda: _live(platform.switch).count() == 5, timeout=20, what="5 live calls")
    platform.icm.stop()
    rows = json.loads(esl.api("show channels as json"))["rows"]
    assert len(rows) == 5
    assert esl.api(f"uuid_kill {rows[0]['uuid']}").startswith("+OK")

    platform.icm = start_icm(platform.switch, platform.esl_port, platform.outbound_port)
    platform.icm.wait_log("5 calls live from the database", timeout=20)
    wait_until(lambda: _live(platform.switch).count() == 4, timeout=20, what="4 live calls")
    assert Call.objects.filter(switch__name=platform.switch).count() == 5
    esl.close()


def test_wrong_esl_password_is_logged_and_icm_keeps_running(platform):
    icm = start_icm(
        platform.switch + "x", platform.esl_port, free_port(), FREESWITCH_ESL_PASSWORD="wrong"
    )
    try:
        icm.wait_log("refused the ESL password", timeout=20)
        time.sleep(1)
        assert icm.alive()
    finally:
        icm.stop()


def test_ivr_call_is_answered_greeted_and_handed_to_its_queue(platform):
    from icm.models import InboundRoute, Queue, Site

    site = Site.objects.create(code="s1", name="Site 1", sip_domain="s1.local")
    queue = Queue.objects.create(site=site, name="support", display_name="Support")
    InboundRoute.objects.create(site=site, name="support line", dnis="8123", queue=queue)
    esl = platform.control()
    assert esl.api("sim_call 5553333 8123 patience=4").startswith("+OK")
    call = wait_until(
        lambda: Call.objects.filter(ani="5553333", queue__name="support").first(),
        timeout=20,
        what="the call to reach the support queue",
    )
    assert call.answered_at is not None
    platform.icm.wait_log("handed to queue support")
    ended = wait_until(
        lambda: ended_calls(platform.switch, ani="5553333").first(), timeout=20, what="hang-up"
    )
    assert ended.queue == queue
    esl.close()


def test_originate_and_hangup_through_the_api(platform):
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    esl = platform.control()
    assert esl.api("sim_register 1003 answer:0.2").startswith("+OK")
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("api", "api@example.com", "pw"))
    response = client.post(
        "/api/calls/originate/",
        {"switch": platform.switch, "endpoint": "user/1003", "destination": "9199"},
        format="json",
    )
    assert response.status_code == 201, response.content
    call_uuid = response.json()["uuid"]
    call = wait_until(
        lambda: Call.objects.filter(call_uuid=call_uuid, answered_at__isnull=False).first(),
        what="the originated call to be answered",
    )
    assert call.direction == "outbound"
    response = client.post(
        f"/api/calls/{call_uuid}/hangup/?switch={platform.switch}", {}, format="json"
    )
    assert response.status_code == 202, response.content
    ended = wait_until(
        lambda: Call.objects.filter(call_uuid=call_uuid, ended_at__isnull=False).first(),
        what="the call to end",
    )
    assert ended.hangup_cause == "NORMAL_CLEARING"
    # hanging up a call that is gone is a clear 409
    response = client.post(
        f"/api/calls/{call_uuid}/hangup/?switch={platform.switch}", {}, format="json"
    )
    assert response.status_code == 409
    assert "no live call" in response.json()["detail"]
    esl.close()


def test_a_route_straight_to_a_queue_offers_without_a_fixed_welcome(platform):
    """Only the queue's own greeting plays before the queue (R-9): no fixed welcome delays
    every offer by its length (on a real switch: arrival -> agent leg 2.8 s)."""
    from icm.models import InboundRoute, Queue, Site
    from tests.fixtures.esl_client import EventCollector

    site = Site.objects.create(code="s2", name="Site 2", sip_domain="s2.local")
    queue = Queue.objects.create(site=site, name="sales", display_name="Sales")
    InboundRoute.objects.create(site=site, name="sales line", dnis="8124", queue=queue)
    events = EventCollector("127.0.0.1", platform.esl_port, "CHANNEL_EXECUTE")
    esl = platform.control()
    assert esl.api("sim_call 5553334 8124 patience=3").startswith("+OK")
    platform.icm.wait_log("handed to queue sales")
    wait_until(lambda: events.executed("playback"), what="the queue's music")
    assert events.executed("playback")[0].startswith("local_stream://moh")
    events.close()
    esl.close()
