"""A message recorded while the database is away is not lost (IVR-7): icm files it again
after growing delays; once filed, the owner's lamp and the email follow, exactly once."""

from __future__ import annotations

from functools import partial

from django.db import DatabaseError

from icm.daemon.ivr import voicemail as ivr_voicemail
from icm.daemon.voicemail.messages import LampChanged
from voicemail.filing import Filed, MessageWaiting


def _filed(mailbox_id: int, path: str, **_kw) -> Filed:
    return Filed(7, "agent:ag1", (MessageWaiting("1301", "sv.local", 1, 0),), None)


def test_a_message_is_filed_once_the_database_answers_again(monkeypatch):
    emailed: list[int] = []
    monkeypatch.setattr(ivr_voicemail, "_email", emailed.append)
    monkeypatch.setattr(ivr_voicemail.gevent, "spawn", lambda run, *args: run(*args))
    tries: list[str] = []

    def run_db(func):
        tries.append("try")
        if len(tries) < 3:
            raise DatabaseError("the database is away")
        return func()

    notified: list[object] = []
    got = ivr_voicemail.file_later(
        partial(_filed, 3, "/var/voicemail/m.wav"), run_db, notified.append, (0, 0, 0, 0)
    )
    assert got is not None and got.message == 7 and len(tries) == 3
    assert notified == [LampChanged("1301", "sv.local", 1, 0)] and emailed == [7]


def test_a_message_never_filed_is_reported_not_dropped_silently(monkeypatch, caplog):
    def run_db(func):
        raise DatabaseError("still away")

    got = ivr_voicemail.file_later(
        partial(_filed, 3, "/var/voicemail/m.wav"), run_db, lambda item: None, (0, 0)
    )
    assert got is None
    assert "/var/voicemail/m.wav: NOT FILED after 3 tries" in caplog.text
