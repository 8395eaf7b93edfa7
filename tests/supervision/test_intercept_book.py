"""The standing intercepts' bookkeeping (SV-9, icm.domain.intercepts): each intercepted call
is listened to once per intercept, only while the intercept is in force; the listening legs
of an intercept that ends or is cancelled are handed back to be hung up — also one placed
after the cancel (the two orders of a cancel and a listener ringing)."""

from __future__ import annotations

from icm.domain.intercepts import Intercept, InterceptBook


def test_each_call_once_and_only_in_the_window():
    book = InterceptBook()
    book.replace([Intercept(1, "ag1", "1390", 100.0, 200.0)], now=50.0)
    assert book.agents(50.0) == []  # not yet
    assert book.due("ag1", "leg-a", 50.0) == []
    assert book.agents(150.0) == ["ag1"]
    assert [i.id for i in book.due("ag1", "leg-a", 150.0)] == [1]
    assert book.due("ag1", "leg-a", 151.0) == []  # the same call: once
    assert book.due("ag2", "leg-b", 151.0) == []  # another agent
    book.leg_gone("leg-a")
    assert [i.id for i in book.due("ag1", "leg-c", 160.0)] == [1]  # its next call
    assert book.due("ag1", "leg-d", 200.0) == []  # over


def test_an_end_or_a_cancel_hands_back_the_listening_legs():
    book = InterceptBook()
    book.replace([Intercept(1, "ag1", "1390", 0.0, 100.0), Intercept(2, "ag2", "1391", 0, 50)], 1)
    assert book.listening(1, "ear-1") and book.listening(2, "ear-2")
    assert book.next_end() == 50
    assert book.expire(60.0) == ["ear-2"]
    assert book.replace([], 61.0) == ["ear-1"]  # cancelled: the reload no longer has it
    assert len(book) == 0


def test_a_listener_placed_after_the_cancel_is_not_kept():
    book = InterceptBook()
    book.replace([Intercept(1, "ag1", "1390", 0.0, 100.0)], 1)
    assert book.due("ag1", "leg-a", 2.0)
    book.replace([], 3.0)  # cancelled while the phone rang
    assert not book.listening(1, "ear-late")  # the daemon hangs it up
