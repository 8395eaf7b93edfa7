"""Mailboxes without a switch (IVR-7): who may open which message (an agent never hears
another agent's: 403, and 404 in lists), forwarding to an agent or a queue, a queue's message
becoming a call-back for the ACD, email delivery with the WAV attached through a real SMTP
server (and a retry once the server is back), retention, and the desktop's `voicemail`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents import desktop
from agents.models import ScheduledCallback
from icm.models import Queue
from switchsim.wav import write_wav
from tests.fixtures.esl_client import free_port
from voicemail import delivery, filing, retention
from voicemail.models import Mailbox, VoicemailAccess, VoicemailMessage


def client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


def leave(tmp_path, owner: str, number: str = "5550199", seconds: float = 2.0) -> int:
    """A caller's message as icm files it (voicemail.filing, on a real WAV)."""
    box = filing.mailbox_for(owner)
    assert box is not None, owner
    path = tmp_path / f"{owner.replace(':', '-')}-{number}-{seconds}.wav"
    write_wav(path, seconds)
    return filing.file_message(box.id, str(path), caller_number=number, caller_name="Ann").message


@pytest.fixture
def boxes(teams, tmp_path):
    _site, users = teams
    return users, {
        "own": leave(tmp_path, "agent:ag1"),
        "other": leave(tmp_path, "agent:ag2", "5550222"),
    }


def test_an_agent_hears_only_its_own_messages(boxes):
    users, ids = boxes
    agent1 = client_for(users["agent1"])
    own = agent1.get(f"/voicemail/messages/{ids['own']}/audio")
    assert own.status_code == 200 and own["Content-Type"] == "audio/wav"
    assert b"".join(own.streaming_content)[:4] == b"RIFF"
    theirs = agent1.get(f"/voicemail/messages/{ids['other']}/audio")
    assert theirs.status_code == 403
    assert agent1.post(f"/api/voicemail/messages/{ids['other']}/heard/").status_code == 403
    assert agent1.post(f"/api/voicemail/messages/{ids['other']}/delete/").status_code == 403
    refused = VoicemailAccess.objects.filter(message_id=ids["other"], kind="refused")
    assert refused.count() == 3 and {a.username for a in refused} == {"agent1"}
    listed = agent1.get("/api/voicemail/messages/").json()["messages"]
    assert [m["id"] for m in listed] == [ids["own"]]
    assert agent1.get("/voicemail/messages/999999/audio").status_code == 404
    bad = agent1.get("/api/voicemail/messages/?mailbox=robot:x")
    assert bad.status_code == 400 and "agent, queue, department" in bad.json()["detail"]
    only = agent1.get("/api/voicemail/messages/?mailbox=agent:ag1").json()["messages"]
    assert [m["id"] for m in only] == [ids["own"]]
    assert agent1.get("/api/voicemail/messages/?mailbox=agent:ag2").json()["messages"] == []
    assert VoicemailAccess.objects.filter(message_id=ids["own"], kind="listen").count() == 1
    # the administrator opens every mailbox; a team leader no agent's
    boss = {
        m["id"]
        for m in client_for(users["admin"]).get("/api/voicemail/messages/").json()["messages"]
    }
    assert boss == {ids["own"], ids["other"]}
    assert (
        client_for(users["lead1"]).get(f"/voicemail/messages/{ids['own']}/audio").status_code == 403
    )
    assert APIClient().get(f"/voicemail/messages/{ids['own']}/audio").status_code == 401


def test_heard_and_deleted_messages_leave_the_count_and_the_list(boxes):
    users, ids = boxes
    agent1 = client_for(users["agent1"])
    agent = users["agent1"].agent
    assert desktop.snapshot(agent)["voicemail"]["new"] == 1
    r = agent1.post(f"/api/voicemail/messages/{ids['own']}/heard/")
    assert r.status_code == 200 and r.json()["heard"] is True
    assert filing.for_agent(agent)["new"] == 0 and filing.for_agent(agent)["old"] == 1
    assert agent1.get("/api/voicemail/messages/").json()["messages"] == []
    assert len(agent1.get("/api/voicemail/messages/?heard=1").json()["messages"]) == 1
    assert agent1.post(f"/api/voicemail/messages/{ids['own']}/delete/").status_code == 200
    assert agent1.get("/api/voicemail/messages/?heard=1").json()["messages"] == []
    assert filing.for_agent(agent) == {"mailbox": "agent:ag1", "new": 0, "old": 0, "messages": []}
    assert agent1.get(f"/voicemail/messages/{ids['own']}/audio").status_code == 404


def test_forward_to_an_agent_and_to_a_queue(boxes):
    users, ids = boxes
    agent1 = client_for(users["agent1"])
    r = agent1.post(
        f"/api/voicemail/messages/{ids['own']}/forward/", {"target": "agent:ag2"}, format="json"
    )
    assert r.status_code == 200, r.json()
    copy = r.json()
    assert copy["mailbox"] == "agent:ag2" and copy["forwarded_by"] == "agent1"
    assert copy["forwarded_from"] == ids["own"]
    # agent 2 now hears it; the original stays agent 1's
    assert client_for(users["agent2"]).get(copy["audio"]).status_code == 200
    r = agent1.post(
        f"/api/voicemail/messages/{ids['own']}/forward/", {"target": "queue:support"}, format="json"
    )
    assert r.status_code == 200 and r.json()["mailbox"] == "queue:support"
    assert ScheduledCallback.objects.get(pk=r.json()["callback"]).queue.name == "support"
    for bad, why in (
        ("agent:nobody", "no mailbox"),
        ("department:x", "agent:<id> or queue:<name>"),
        ("queue:support", "already in queue:support"),
        ("", "target"),
    ):
        message = r.json()["id"] if bad == "queue:support" else ids["own"]
        sender = client_for(users["admin"])
        got = sender.post(
            f"/api/voicemail/messages/{message}/forward/", {"target": bad}, format="json"
        )
        assert got.status_code == 400 and why in got.json()["detail"], (bad, got.json())


def test_a_queue_message_becomes_a_call_back_the_team_can_play(teams, tmp_path):
    _site, users = teams
    message = VoicemailMessage.objects.get(pk=leave(tmp_path, "queue:support", "+15550123"))
    callback = message.callback
    assert callback.queue == Queue.objects.get(name="support")
    assert callback.number == "+15550123" and callback.status == "pending"
    assert callback.source == "ivr" and callback.due_at <= timezone.now()
    # the offer of that call-back on the desktop carries the message to play
    card = desktop.offer_card({"ani": "+15550123", "attached": {"callback": str(callback.pk)}})
    assert card["voicemail"]["id"] == message.pk
    # agent 1's team serves support: it plays it; agent 2's does not
    assert client_for(users["agent1"]).get(card["voicemail"]["audio"]).status_code == 200
    assert client_for(users["agent2"]).get(card["voicemail"]["audio"]).status_code == 403
    assert client_for(users["lead1"]).get(card["voicemail"]["audio"]).status_code == 200
    # a caller without a number leaves a message, not a call-back
    anonymous = VoicemailMessage.objects.get(pk=leave(tmp_path, "support", "anonymous"))
    assert anonymous.callback is None and anonymous.mailbox.owner == "queue:support"


def test_unknown_owners_are_refused(teams):
    assert filing.mailbox_for("agent:nobody") is None
    assert filing.mailbox_for("bad name;") is None
    assert filing.mailbox_for("robot:x") is None
    Mailbox.objects.create(kind="department", department="sales")
    assert filing.mailbox_for("department:sales").owner == "department:sales"
    assert filing.mailbox_for("sales").owner == "department:sales"


def test_email_with_the_recording_attached_and_a_retry_when_smtp_was_down(
    teams,
    tmp_path,
    smtp_server,
    settings,
):
    inbox, port = smtp_server
    box = filing.resolve("agent:ag1")
    box.emails = "ann@example.com, desk@example.com"
    box.save()
    first = leave(tmp_path, "agent:ag1", seconds=1.5)
    assert delivery.deliver(first) == "sent"
    assert delivery.deliver(first) == "done"  # never twice
    (mail,) = inbox.messages
    assert inbox.recipients == [["ann@example.com", "desk@example.com"]]
    assert "Voicemail from Ann" in mail["Subject"]
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "audio/wav"
    assert attachment.get_filename() == f"voicemail-{first}.wav"
    data = attachment.get_content()
    assert (
        data[:4] == b"RIFF"
        and data == open(VoicemailMessage.objects.get(pk=first).path, "rb").read()
    )
    # the server is down: the message waits, then goes when it is back
    settings.EMAIL_PORT = free_port()  # nothing listens there
    second = leave(tmp_path, "agent:ag1", seconds=1.2)
    assert delivery.deliver(second) == "failed"
    row = VoicemailMessage.objects.get(pk=second)
    assert row.delivered_at is None and row.delivery_attempts == 1 and row.delivery_error
    settings.EMAIL_PORT = port
    VoicemailMessage.objects.filter(pk=second).update(
        received_at=timezone.now() - timedelta(minutes=5)
    )
    assert delivery.deliver_pending() == 1
    assert len(inbox.messages) == 2
    # a mailbox without addresses: delivered means nothing to send
    other = leave(tmp_path, "agent:ag2")
    assert delivery.deliver(other) == "none" and len(inbox.messages) == 2


def test_retention_deletes_old_messages_and_files_nothing_holds(teams, tmp_path, settings):
    settings.IPBX_VOICEMAIL_RETENTION_DAYS = 30
    old = VoicemailMessage.objects.get(pk=leave(tmp_path, "agent:ag1"))
    recent = VoicemailMessage.objects.get(pk=leave(tmp_path, "agent:ag1", "5550100"))
    forwarded = VoicemailMessage.objects.create(
        mailbox=filing.resolve("agent:ag2"),
        received_at=timezone.now(),
        path=old.path,
        forwarded_from=old,
    )
    VoicemailMessage.objects.filter(pk=old.pk).update(
        received_at=timezone.now() - timedelta(days=31)
    )
    assert retention.apply_retention() == (1, 0)  # the forward still holds the file
    old.refresh_from_db()
    assert old.deleted_by == "retention" and old.deleted_at is not None
    assert open(old.path, "rb").read(4) == b"RIFF"
    forwarded.deleted_at = timezone.now()
    forwarded.save()
    assert retention.apply_retention() == (0, 1)
    old.refresh_from_db()
    assert old.path == "" and not (tmp_path / "agent-ag1-5550199-2.0.wav").exists()
    recent.refresh_from_db()
    assert recent.deleted_at is None and open(recent.path, "rb").read(4) == b"RIFF"
    # a mailbox's own retention wins
    box = filing.resolve("agent:ag1")
    box.retention_days = 1
    box.save()
    VoicemailMessage.objects.filter(pk=recent.pk).update(
        received_at=timezone.now() - timedelta(days=2)
    )
    assert retention.apply_retention() == (1, 1)
