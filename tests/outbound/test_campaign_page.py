"""The campaign page in headless Chromium: live progress as the pacer dials, start / pause /
resume / stop (audited; refused out of order), a contact list upload reporting its bad rows
by line, the attempt log export; team leaders see their queues' campaigns only."""

from __future__ import annotations

import time

import pytest

from icm.models import Queue, Switch
from outbound.dialer import tick
from outbound.models import Attempt, Campaign, Contact
from supervision.models import AuditEntry
from tests.fixtures.browser import log_in
from tests.supervision.conftest import (
    client_for,
    teams,  # noqa: F401
)

pytestmark = pytest.mark.browser
ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]


@pytest.fixture
def campaign(teams, platform_factory):  # noqa: F811
    site, users = teams
    platform = platform_factory()
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    esl = platform.control()
    esl.api("sim_far_end 555 answered ring=0.2 talk=30")
    c = Campaign.objects.create(
        name="survey",
        display_name="Survey",
        mode="agentless",
        switch=switch,
        queue=Queue.objects.get(name="support"),
        gateway="carrier",
        windows=ALL_DAY,
        calls_per_second=5,
        max_concurrent=5,
        message="silence_stream://300",
    )
    yield c, esl, users
    esl.api("hupall")
    esl.close()


def test_the_campaign_page(campaign, web, page, tmp_path):
    c, esl, users = campaign
    assert client_for(users["lead2"]).get("/api/campaigns/").json() == {"campaigns": []}
    assert client_for(users["agent1"]).get("/api/campaigns/").status_code == 403
    log_in(page, web, "lead1", "pw", "/campaigns/survey/")
    page.wait_for_selector("#state[data-state=draft]")
    upload = tmp_path / "list.csv"
    upload.write_text("number,name\n5550801,Ann\nnonsense,Bob\n5550802,Cid\n5550801,Dup\n")
    page.set_input_files("#file", str(upload))
    page.click("#upload button")
    page.wait_for_selector("#upload-result:text('2 contacts added, 2 rows refused of 4')")
    assert "line 3: 'nonsense' is not a phone number" in page.inner_text("#upload-errors")
    assert "line 5: 5550801 is a duplicate of line 2" in page.inner_text("#upload-errors")
    page.click("[data-act=start]")
    page.wait_for_selector("#state[data-state=running]")
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and Contact.objects.filter(campaign=c, status__in=("pending", "dialing")).exists()
    ):
        tick(c.pk)
        time.sleep(0.3)
    page.wait_for_function("document.querySelector('#dialed').textContent === '2'")
    page.wait_for_selector("#state[data-state=finished]")
    assert page.inner_text("#remaining") == "0"
    assert page.inner_text("#results [data-result=answered] td") == "2"
    with page.expect_download() as download:
        page.click("#export")
    lines = open(download.value.path()).read().splitlines()
    assert lines[0].startswith("requested_at,number,attempt,result")
    assert len(lines) == 3 and all(",answered," in line for line in lines[1:])
    # out of order: a finished campaign cannot pause
    r = client_for(users["lead1"]).post("/api/campaigns/survey/pause/")
    assert r.status_code == 409
    Contact.objects.create(campaign=c, number="5550803")
    page.click("[data-act=start]")
    page.wait_for_selector("#state[data-state=running]")
    page.click("[data-act=pause]")
    page.wait_for_selector("#state[data-state=paused]")
    tick(c.pk)  # a paused campaign dials nothing
    assert Attempt.objects.filter(campaign=c).count() == 2
    page.click("[data-act=resume]")
    page.wait_for_selector("#state[data-state=running]")
    page.click("[data-act=stop]")
    page.wait_for_selector("#state[data-state=stopped]")
    actions = list(
        AuditEntry.objects.filter(target="survey").order_by("id").values_list("action", "outcome")
    )
    assert actions == [
        ("campaign_start", "ok"),
        ("campaign_pause", "refused"),
        ("campaign_start", "ok"),
        ("campaign_pause", "ok"),
        ("campaign_resume", "ok"),
        ("campaign_stop", "ok"),
    ]
