"""A trunk's caps are shared by every campaign dialing through it (issue 9 item 2): two
agentless campaigns, each allowed 5 calls at once, on a gateway allowed 2 — the attempt log
never shows more than 2 of their calls up at once on it, and every contact is still called."""

from __future__ import annotations

import time

import pytest

from icm.models import Gateway, Switch
from outbound.dialer import tick
from outbound.models import Attempt, Campaign, Contact

ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]


def most_at_once(attempts: list[Attempt]) -> int:
    """The most attempts up at the same instant (from their start and end times)."""
    edges = sorted(
        [(a.started_at, 1) for a in attempts] + [(a.ended_at, -1) for a in attempts],
        key=lambda e: (e[0], e[1]),
    )  # an end at the same instant goes first
    up = peak = 0
    for _, step in edges:
        up += step
        peak = max(peak, up)
    return peak


@pytest.mark.django_db(transaction=True)
def test_two_campaigns_share_the_gateways_channel_cap(platform_factory):
    platform = platform_factory()
    switch = Switch.objects.get(name=platform.switch)
    Gateway.objects.create(
        switch=switch, name="carrier", proxy="carrier.example:5060", max_channels=2
    )
    esl = platform.control()
    try:
        esl.api("sim_far_end 55507 answered ring=0.6 talk=0.2")
        campaigns = []
        for name, prefix in (("spring", "555070"), ("autumn", "555071")):
            c = Campaign.objects.create(
                name=name,
                display_name=name,
                mode="agentless",
                state="running",
                switch=switch,
                gateway="carrier",
                windows=ALL_DAY,
                max_attempts=1,
                calls_per_second=50,
                max_concurrent=5,
                ring_seconds=10,
            )
            for n in range(6):
                Contact.objects.create(campaign=c, number=f"{prefix}{n}")
            campaigns.append(c)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for c in campaigns:
                tick(c.pk)
            if not Contact.objects.filter(status__in=("pending", "dialing")).exists():
                break
            time.sleep(0.2)
        attempts = list(Attempt.objects.filter(started_at__isnull=False, ended_at__isnull=False))
        assert len(attempts) == 12, "every contact of both campaigns was called once"
        assert {a.result for a in attempts} == {"answered"}
        assert most_at_once(attempts) == 2  # the trunk's cap, reached and never passed
        # both campaigns had calls up while the other's were: the cap is one count for both
        spring = [a for a in attempts if a.campaign_id == campaigns[0].pk]
        autumn = [a for a in attempts if a.campaign_id == campaigns[1].pk]
        assert most_at_once(spring) <= 2 and most_at_once(autumn) <= 2
        assert any(
            s.started_at < a.ended_at and a.started_at < s.ended_at for s in spring for a in autumn
        )
    finally:
        esl.api("hupall")
        esl.close()
