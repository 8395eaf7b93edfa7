"""icm killed (SIGKILL) right after a campaign originate left — the gap where the attempt's
"placed" mark used to be written only afterwards (issue 21, finding 2): after icm restarts and
the pacer re-sends what was never confirmed, every contact was originated exactly once on the
switch (counted from the switch's own CHANNEL_CREATE events), none is left to dial again, and
the attempt the dead icm placed is closed from what is known of its leg."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from icm.models import Switch
from outbound.dialer import LEASE, tick
from outbound.models import Attempt, Campaign, Contact
from tests.fixtures.esl_client import EventCollector
from tests.fixtures.processes import start_icm
from tests.fixtures.waiting import wait_until

ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]
NUMBERS = [f"55508{n:02d}" for n in range(3)]


@pytest.fixture
def crashing_icm(platform_factory):
    """switchsim + an icm that kills itself (-9) right after its second campaign originate."""
    platform = platform_factory(IPBX_TEST_KILL_AFTER_ORIGINATE="2")
    esl = platform.control()
    esl.api("sim_far_end 55508 answered ring=0.3 talk=2")
    created = EventCollector("127.0.0.1", platform.esl_port, "CHANNEL_CREATE")
    campaign = Campaign.objects.create(
        name="crash",
        display_name="Crash",
        mode="agentless",
        state="running",
        switch=Switch.objects.get(name=platform.switch),
        gateway="carrier",
        windows=ALL_DAY,
        calls_per_second=4,
        max_concurrent=6,
        message="silence_stream://400",
        ring_seconds=10,
    )
    Contact.objects.bulk_create([Contact(campaign=campaign, number=n) for n in NUMBERS])
    yield campaign, platform, created
    created.close()
    esl.api("hupall")
    esl.close()


def dialled(created: EventCollector) -> dict[str, int]:
    """Trunk legs the switch created, per number."""
    counts: dict[str, int] = {}
    for event in created.executed_events("CHANNEL_CREATE"):
        name = event.get("Channel-Name", "")
        if name.startswith("sofia/external/55508"):
            number = name.split("/")[2].split("@")[0]
            counts[number] = counts.get(number, 0) + 1
    return counts


def test_icm_killed_after_an_originate_dials_no_contact_twice(crashing_icm):
    campaign, platform, created = crashing_icm
    tick(campaign.pk)  # all three handed to icm, which paces them 0.25 s apart
    wait_until(lambda: not platform.icm.alive(), timeout=20, what="icm killed after originate 2")
    platform.icm.stop()
    wait_until(lambda: sum(dialled(created).values()) == 2, what="two trunk legs created")
    platform.icm = start_icm(platform.switch, platform.esl_port, platform.outbound_port)
    wait_until(  # the log file is the first icm's too
        lambda: platform.icm.log().count(f"switch {platform.switch} connected") == 2,
        what="the new icm connected",
    )

    def settled() -> bool:
        # as the pacer would, once the re-send delay and the contacts' leases have passed
        tick(campaign.pk, datetime.now(tz=UTC) + LEASE + timedelta(seconds=1))
        return Campaign.objects.get(pk=campaign.pk).state == "finished"

    wait_until(settled, timeout=60, interval=0.5, what="every attempt settled")
    assert dialled(created) == {n: 1 for n in NUMBERS}  # the switch: nobody twice
    attempts = list(Attempt.objects.filter(campaign=campaign))
    assert sorted(a.number for a in attempts) == NUMBERS  # one attempt each
    assert all(a.ended_at for a in attempts)
    # the one never placed before the crash was dialled by the new icm and answered; the
    # ones the dead icm placed are answered (their CDR) or unknown (lost with it), never
    # failed-and-retried
    assert {a.result for a in attempts} <= {"answered", "unknown"}
    assert "answered" in {a.result for a in attempts}
    assert set(Contact.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "done"
    }
