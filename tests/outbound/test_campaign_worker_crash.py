"""Celery does the dialing (issue 9): beat wakes the pacer every second in a real worker; the
worker is killed (SIGKILL) in the middle of an agentless campaign and another one started —
the attempt log shows every contact dialed exactly once (no attempt lost, none repeated) and
the switch saw one trunk call per attempt, never two at once for a number."""

from __future__ import annotations

import time

import pytest

from icm.models import CallLeg, Switch
from outbound.models import Attempt, Campaign, Contact
from tests.fixtures.processes import start_celery
from tests.fixtures.waiting import wait_until

ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]
CONTACTS = 40


@pytest.fixture
def running_campaign(platform_factory, tmp_path):
    from icm.models import Site

    site = Site.objects.create(code="ob", name="Outbound", sip_domain="ob.local")
    platform = platform_factory()
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    esl = platform.control()
    esl.api("sim_far_end 555 answered ring=0.3-0.8 talk=30")
    campaign = Campaign.objects.create(
        name="survey",
        display_name="Survey",
        mode="agentless",
        state="running",
        switch=switch,
        gateway="carrier",
        windows=ALL_DAY,
        calls_per_second=4,
        max_concurrent=6,
        message="silence_stream://400",
        ring_seconds=10,
    )
    Contact.objects.bulk_create(
        [Contact(campaign=campaign, number=f"55507{n:02d}") for n in range(CONTACTS)]
    )
    yield campaign, esl, platform, tmp_path
    esl.api("hupall")
    esl.close()


def test_a_worker_killed_mid_campaign_loses_and_repeats_nothing(running_campaign):
    campaign, esl, platform, tmp = running_campaign
    for name in ("one", "two"):
        (tmp / name).mkdir()
    first = start_celery(tmp / "one")
    try:
        wait_until(
            lambda: Attempt.objects.filter(campaign=campaign, ended_at__isnull=False).count() >= 8,
            timeout=60,
            what="the first worker dialing",
        )
        first.crash()  # SIGKILL, its pool and beat too: leases and locks left behind
    finally:
        first.stop()
    dialed_before = Attempt.objects.filter(campaign=campaign).count()
    assert dialed_before < CONTACTS  # it died in the middle
    second = start_celery(tmp / "two")
    try:
        wait_until(
            lambda: Campaign.objects.get(pk=campaign.pk).state == "finished",
            timeout=120,
            what="the campaign finished by the second worker",
        )
    finally:
        second.stop()
    attempts = list(Attempt.objects.filter(campaign=campaign))
    assert len(attempts) == CONTACTS  # one each: none lost, none repeated
    assert {a.number for a in attempts} == {f"55507{n:02d}" for n in range(CONTACTS)}
    assert all(a.result == "answered" and a.ended_at for a in attempts)
    assert set(Contact.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "done"
    }
    # the switch: one trunk leg per attempt, so nothing was dialed twice
    time.sleep(1)
    legs = CallLeg.objects.filter(
        switch__name=platform.switch, channel_name__startswith="sofia/external/555"
    )
    per_number: dict[str, int] = {}
    for leg in legs:
        number = leg.channel_name.split("/")[2].split("@")[0]
        per_number[number] = per_number.get(number, 0) + 1
    assert per_number == {a.number: 1 for a in attempts}
