"""The desktop's address book and internal calls in headless Chromium against switchsim
(AG-8, AG-18, AG-23): colleagues with their live state, extensions, the agent's frequent
numbers and the shared entries, searchable; "Call" on a colleague rings the caller's phone,
then the colleague's — whose desktop shows the ringing internal call with the caller's name;
accepted, both desktops show the connected internal call; hung up, both are back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User

from agents.models import AddressBookEntry, Agent, WorkGroup
from icm.models import Call, Extension, Site, Switch
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def office(transactional_db, platform):
    site = Site.objects.create(code="desk", name="Desk site", sip_domain="desk.local")
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    team = WorkGroup.objects.create(name="team")
    for n in (1, 2):
        ext = Extension.objects.create(site=site, number=f"110{n}", password="x")
        user = User.objects.create_user(f"agent{n}", password="not-the-phone-bar-one")
        agent = Agent.objects.create(login_id=f"ag{n}", name=f"Agent {n}", extension=ext, user=user)
        agent.set_phone_bar_password(f"bar-{n}")
        agent.save()
        agent.work_groups.add(team)
    Extension.objects.create(site=site, number="1150", password="x", display_name="Reception")
    AddressBookEntry.objects.create(name="Head office", number="5550100", note="switchboard")
    for _ in range(3):  # agent 1 often calls this customer
        Call.objects.create(
            switch=switch,
            call_uuid=f"old-{_}",
            direction="outbound",
            ani="1101",
            dnis="5550199",
            created_at=datetime.now(tz=UTC),
            agent=Agent.objects.get(login_id="ag1"),
        )
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.3")
    esl.api("sim_register 1102 noanswer")  # agent 2 answers from its desktop
    yield esl
    esl.api("hupall")
    esl.close()


def sign_in(page, web, agent_id, password):
    page.goto(f"{web}/agent/")
    page.fill("input[name=agent_id]", agent_id)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#link[data-up='1']")


def test_address_book_and_a_ringing_internal_call(office, web, page):
    other = page.context.browser.new_context().new_page()
    other.set_default_timeout(20_000)
    sign_in(page, web, "ag1", "bar-1")
    sign_in(other, web, "ag2", "bar-2")

    # the address book: the colleague (signed in, not ready), an extension, a frequent
    # number from agent 1's own calls, a shared entry
    row = page.locator("#book tr[data-agent=ag2]")
    row.locator("text=not ready").wait_for()
    assert "1102" in row.inner_text()
    assert "Reception" in page.locator("#book tr[data-kind=extension]").inner_text()
    assert (
        "3 calls"
        in page.locator("#book tr[data-kind=frequent][data-number='5550199']").inner_text()
    )
    assert "Head office" in page.locator("#book tr[data-kind=shared]").inner_text()
    page.fill("#book-search", "recep")
    page.locator("#book tr[data-agent=ag2]").wait_for(state="detached")
    assert page.locator("#book tr[data-kind=extension]").count() == 1
    assert page.locator("#book tr[data-kind=shared]").count() == 0
    page.fill("#book-search", "")
    row.wait_for()

    # click-to-call the colleague: agent 1's phone answers, agent 2's rings
    row.locator("button.book-call-agent").click()
    other.wait_for_selector("#state[data-state=reserved]")
    other.wait_for_selector("body[data-internal=ringing]")
    assert not other.locator("#offer").is_hidden()
    note = other.locator("#offer-note")
    assert note.inner_text() == "Internal call from Agent 1 (ag1)"
    assert other.locator("#offer-arrived").inner_text() == "internal call"
    page.wait_for_selector("#incall:not([hidden])")
    assert "Ringing Agent 2 (ag2)" in page.locator("#incall-ani").inner_text()

    other.click("#btn-accept")  # agent 2's phone answers: the two are connected
    other.wait_for_selector("body[data-internal=talking]")
    page.wait_for_selector("body[data-internal=talking]")
    for desk, peer in ((page, "Agent 2 (ag2)"), (other, "Agent 1 (ag1)")):
        desk.wait_for_selector("#state[data-state=on_call]")
        wait_until(
            lambda d=desk, p=peer: (
                d.locator("#incall-ani").inner_text() == f"Internal call with {p}"
            ),
            what="the connected internal call shown",
        )
    # a colleague's book shows agent 2 busy on an internal call
    wait_until(
        lambda: "on a call (internal)" in page.locator("#book tr[data-agent=ag2]").inner_text(),
        what="the colleague's live state in the book",
    )

    other.click("#btn-hangup")
    for desk in (page, other):
        desk.wait_for_selector("#state[data-state=not_ready]")
        desk.wait_for_selector("body[data-internal='']")
