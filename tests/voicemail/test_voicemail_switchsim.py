"""Voicemail end to end (IVR-7) through switchsim, icm, the web and headless Chromium: a caller
routed to a flow whose voicemail node targets agent ag1's mailbox leaves a message (the
switch's `record` writes a real WAV); the agent's desktop shows the new-message count live
and plays the message,
the phone's message-waiting lamp lights in switchsim (MESSAGE_WAITING through the adapter;
again when the phone registers again),
the message arrives by email with the recording attached on a real SMTP server, and on the
mailbox page the agent plays it, marks it heard (the lamp goes out, the desktop count to 0)
and deletes it. The "voicemail for mailbox X" entry point sends a second caller into the
queue's mailbox, which becomes a call-back for that queue."""

from __future__ import annotations

import json
import time

import pytest

from agents.models import ScheduledCallback
from icm.models import InboundRoute, Switch
from ivr.actions import check_publish
from ivr.models import Flow, FlowVersion
from recording.models import Recording
from tests.browser.test_agent_desktop import sign_in
from tests.fixtures.waiting import wait_until
from voicemail import filing
from voicemail.models import VoicemailAccess, VoicemailMessage

pytestmark = pytest.mark.browser

LEAVE_MESSAGE = {
    "start": "message",
    "nodes": {
        "message": {
            "type": "voicemail",
            "mailbox": "agent:ag1",
            "max_seconds": "20",
            "prompt": "Ann is away. Please leave a message after the tone.",
        }
    },
}


def lamp(esl, extension: str) -> dict:
    return json.loads(esl.api(f"sim_mwi {extension}"))


@pytest.fixture
def voicemail_center(teams, smtp_server, platform_factory):
    site, users = teams
    inbox, port = smtp_server
    box = filing.resolve("agent:ag1")
    box.emails = "ann@example.com"
    box.save()
    flow = Flow.objects.create(name="leave-message")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=LEAVE_MESSAGE))
    InboundRoute.objects.create(site=site, name="ann", dnis="8300", flow=flow)
    platform = platform_factory(IPBX_SMTP_HOST="127.0.0.1", IPBX_SMTP_PORT=str(port))
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301")
    yield users, inbox, platform, esl
    esl.close()


def test_a_message_from_the_switch_to_the_desktop_the_phone_the_mail_and_the_page(
    voicemail_center, web, page
):
    users, inbox, platform, esl = voicemail_center
    sign_in(page, web, "ag1", "bar-1")
    page.wait_for_selector("#voicemail-new:text-is('0')")
    assert lamp(esl, "1301")["waiting"] is False

    # a caller reaches the flow and speaks for 3 s after the tone
    assert esl.api("sim_call 5550199 8300 name=Bob record=3").startswith("+OK")
    message = wait_until(
        lambda: VoicemailMessage.objects.filter(caller_number="5550199").first(),
        timeout=40,
        what="the message to be filed",
    )
    assert message.mailbox.owner == "agent:ag1" and message.caller_name == "Bob"
    assert 2.5 <= message.duration <= 4.5, message.duration
    with open(message.path, "rb") as f:
        assert f.read(4) == b"RIFF"
    # the desktop's count, live (no reload)
    page.wait_for_selector("#voicemail-new:text-is('1')")
    assert page.locator("#voicemail-list li").count() == 1
    # … and the agent plays it there (the audio view logs the listen)
    page.click("#voicemail-new")  # opens the list (the link beside it goes to the page)
    page.locator("#voicemail-list li audio").evaluate("a => a.play().catch(() => {})")
    page.wait_for_function("document.querySelector('#voicemail-list li audio').readyState >= 2")
    assert VoicemailAccess.objects.filter(message=message, kind="listen").exists()
    # the phone's lamp, through the switch
    wait_until(lambda: lamp(esl, "1301")["waiting"], timeout=10, what="the lamp to light")
    assert lamp(esl, "1301")["voice"] == "1/0 (0/0)" and lamp(esl, "1301")["notifies"] >= 1
    # the phone registers again (a reboot): it gets its lamp again
    before = lamp(esl, "1301")["notifies"]
    esl.api("sim_register 1301")
    wait_until(lambda: lamp(esl, "1301")["notifies"] > before, timeout=10, what="the lamp again")
    assert lamp(esl, "1301")["waiting"] is True
    # the email, with the recording attached
    wait_until(lambda: inbox.messages, timeout=20, what="the email")
    (mail,) = inbox.messages
    assert inbox.recipients == [["ann@example.com"]] and "Bob" in mail["Subject"]
    (attachment,) = list(mail.iter_attachments())
    with open(message.path, "rb") as f:
        assert attachment.get_content() == f.read()

    # the mailbox page, beside the desktop (the same signed-in agent)
    mailbox = page.context.new_page()
    mailbox.goto(f"{web}/voicemail/")
    row = mailbox.locator(f"#messages tr[data-id='{message.pk}']")
    row.wait_for()
    assert "5550199" in row.inner_text() and "new" in row.locator(".state").inner_text()
    row.locator("button[data-act=play]").click()
    mailbox.wait_for_function(
        "document.querySelector('#player').readyState >= 2 && "
        "document.querySelector('#player').duration > 2"
    )
    assert VoicemailAccess.objects.filter(message=message, kind="listen").count() >= 2
    row.locator("button[data-act=heard]").click()
    mailbox.wait_for_selector("#count:text-is('0 messages')")
    message.refresh_from_db()
    assert message.heard_at is not None
    page.wait_for_selector("#voicemail-new:text-is('0')")  # the desktop follows, live
    wait_until(lambda: not lamp(esl, "1301")["waiting"], timeout=10, what="the lamp to go out")
    assert lamp(esl, "1301")["voice"] == "0/1 (0/0)"
    mailbox.check("#show-heard")
    row.wait_for()
    assert "heard" in row.locator(".state").inner_text()
    row.locator("button[data-act=delete]").click()
    mailbox.wait_for_selector("#count:text-is('0 messages')")
    message.refresh_from_db()
    assert message.deleted_at is not None and message.deleted_by == "agent1"
    wait_until(lambda: lamp(esl, "1301")["voice"] == "0/0 (0/0)", timeout=10, what="0/0")


def test_the_entry_point_sends_a_waiting_caller_into_a_queue_mailbox(teams, platform_factory):
    """What the ACD's overflow to voicemail uses: `send_to_mailbox(leg, owner)`. A caller
    waiting in "support" (nobody signed in) is sent to the queue's mailbox; the message
    becomes a call-back for that queue."""
    from icm.daemon.freeswitch.render import command_to_api
    from icm.daemon.voicemail.entry import send_to_mailbox
    from icm.models import Queue

    site, _users = teams
    InboundRoute.objects.create(
        site=site, name="support", dnis="8301", queue=Queue.objects.get(name="support")
    )
    platform = platform_factory()
    esl = platform.control()
    leg = esl.api("sim_call 5550142 8301 record=2").split()[1]
    wait_until(
        lambda: (
            esl.api(f"uuid_getvar {leg} ipbx_queue") == "support"
            and esl.api(f"uuid_getvar {leg} ipbx_waiting") not in ("", "_undef_")
        ),
        timeout=20,
        what="the caller to wait in support (its place kept on the channel)",
    )
    for command in send_to_mailbox(leg, "queue:support"):
        assert esl.api(command_to_api(command)).startswith("+OK")
    message = wait_until(
        lambda: VoicemailMessage.objects.filter(caller_number="5550142").first(),
        timeout=40,
        what="the queue's message",
    )
    assert message.mailbox.owner == "queue:support" and message.duration >= 1.5
    callback = ScheduledCallback.objects.get(pk=message.callback_id)
    assert callback.queue.name == "support" and callback.number == "5550142"
    esl.close()


def test_a_caller_who_hangs_up_mid_message_still_leaves_it(teams, platform_factory):
    """The other order: the caller hangs up while the switch records (as most callers end a
    message) instead of the recording reaching its end; the message is filed all the same."""
    site, _users = teams
    flow = Flow.objects.create(name="leave-message")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=LEAVE_MESSAGE))
    InboundRoute.objects.create(site=site, name="ann", dnis="8300", flow=flow)
    platform = platform_factory()
    esl = platform.control()
    # speaks "for 60 s" but hangs up after 9 s (patience), well inside the 20 s limit
    assert esl.api("sim_call 5550177 8300 record=60 patience=9").startswith("+OK")
    message = wait_until(
        lambda: VoicemailMessage.objects.filter(caller_number="5550177").first(),
        timeout=40,
        what="the message to be filed",
    )
    assert message.mailbox.owner == "agent:ag1" and 1 <= message.duration < 9
    with open(message.path, "rb") as f:
        assert f.read(4) == b"RIFF"
    # a message, not a call recording: the recordings catalogue never lists it
    time.sleep(1.5)  # icm writes catalogue rows every 0.2 s
    assert not Recording.objects.filter(path__contains="/voicemail/").exists()
    esl.close()


def test_a_queue_message_is_offered_as_a_call_back_with_its_player(
    teams, platform_factory, web, page, tmp_path
):
    """A message in a queue's mailbox is a contact the ACD routes: the call-back it became is
    handed to icm (what Celery's dispatch runs), offered to the queue's ready agent, and the
    offer on the desktop plays the message."""
    from agents.callbacks import dispatch_due
    from switchsim.wav import write_wav
    from tests.supervision.conftest import support_calls_reach_agent1

    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    platform = platform_factory()
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 noanswer")  # the offer keeps ringing while the test looks
    sign_in(page, web, "ag1", "bar-1")
    page.click("#btn-ready")
    page.wait_for_selector("#state[data-state=ready]")
    write_wav(tmp_path / "left.wav", 2.5)
    box = filing.mailbox_for("queue:support")
    filed = filing.file_message(box.id, str(tmp_path / "left.wav"), caller_number="5550188")
    assert filed.callback is not None
    assert dispatch_due() == 1
    page.wait_for_selector("#state[data-state=reserved]")
    player = page.locator("#offer-voicemail audio")
    player.wait_for()
    assert "5550188" in page.locator("#offer-voicemail").inner_text()
    player.evaluate("a => a.play().catch(() => {})")
    page.wait_for_function("document.querySelector('#offer-voicemail audio').readyState >= 2")
    listens = VoicemailAccess.objects.filter(message_id=filed.message, kind="listen")
    assert [a.username for a in listens] == ["agent1"]
    esl.close()


def test_a_caller_overflowed_to_voicemail_leaves_a_message_the_agent_plays_on_the_desktop(
    teams, platform_factory, web, page
):
    """Issue 20's acceptance, end to end: nobody serves the queue, the caller waits past its
    maximum wait, is told to leave a message and does (switchsim records a real WAV); the
    message in the queue's mailbox becomes a call-back; when ag1 is ready it is offered, and
    the agent plays the caller's message in the offer on the desktop (the listen logged)."""
    from agents.callbacks import dispatch_due
    from icm.models import Queue
    from tests.supervision.conftest import support_calls_reach_agent1

    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    Queue.objects.filter(name="support").update(max_wait_seconds=2)
    platform = platform_factory()
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 noanswer")  # the offer keeps ringing while the test looks
    sign_in(page, web, "ag1", "bar-1")  # signed in, not ready: nobody serves the caller
    assert esl.api("sim_call 5550190 8131 record=2 patience=60").startswith("+OK")
    message = wait_until(
        lambda: VoicemailMessage.objects.filter(caller_number="5550190").first(),
        timeout=30,
        what="the overflowed caller's message in the queue's mailbox",
    )
    assert message.mailbox.owner == "queue:support" and message.callback is not None
    assert message.duration >= 1.5
    page.click("#btn-ready")
    page.wait_for_selector("#state[data-state=ready]")
    assert dispatch_due() == 1
    page.wait_for_selector("#state[data-state=reserved]")
    player = page.locator("#offer-voicemail audio")
    player.wait_for()
    assert "5550190" in page.locator("#offer-voicemail").inner_text()
    player.evaluate("a => a.play().catch(() => {})")
    page.wait_for_function("document.querySelector('#offer-voicemail audio').readyState >= 2")
    listens = VoicemailAccess.objects.filter(message=message, kind="listen")
    assert [a.username for a in listens] == ["agent1"]
    esl.close()
