"""Phone registrations (ICM-1): the real switch's events and `show registrations` replies
decoded, and the tracker that says which extensions can be rung — with the switch's events
and its snapshot arriving in either order."""

from datetime import UTC, datetime

import pytest

from icm.daemon.freeswitch.registrations import registrations_from_show
from icm.daemon.freeswitch.translator import SUBSCRIBED_CUSTOM, translate
from icm.domain.registrations import (
    PhoneRegistered,
    PhoneUnregistered,
    RegistrationRow,
    Registrations,
    RegistrationsSnapshot,
)
from tests.fixtures.captures import CAPTURES, api_reply, read_events

T0 = datetime(2026, 12, 7, 2, 47, 33, tzinfo=UTC)


@pytest.mark.parametrize(
    "capture", ["sofia-register-gateway.txt", "sofia-register-gateway-json.txt"]
)
def test_the_real_switchs_register_and_unregister_events_decode(capture):
    events = [translate("fs1", h) for h in read_events(capture)]
    phones = [e for e in events if isinstance(e, PhoneRegistered | PhoneUnregistered)]
    registered, unregistered = phones
    assert isinstance(registered, PhoneRegistered)
    assert (registered.user, registered.domain, registered.call_id) == (
        "1000",
        "127.0.0.1",
        "1-29515@127.0.0.1",
    )
    assert registered.user_agent == "SIPp-capture" and registered.network_ip == "127.0.0.1"
    assert isinstance(unregistered, PhoneUnregistered)
    assert (unregistered.user, unregistered.call_id, unregistered.why) == (
        "1000",
        "1-29515@127.0.0.1",
        "unregistered",
    )


def test_icm_subscribes_to_the_expiry_too():
    assert {"sofia::register", "sofia::unregister", "sofia::expire"} <= set(SUBSCRIBED_CUSTOM)
    expire = {  # sofia_reg.c sofia_reg_del_callback's headers
        "Event-Name": "CUSTOM",
        "Event-Subclass": "sofia::expire",
        "Event-Date-Timestamp": "1796611832000000",
        "profile-name": "internal",
        "call-id": "1-29515@127.0.0.1",
        "user": "1000",
        "username": "1000",
        "host": "127.0.0.1",
        "contact": '"" <sip:1000@127.0.0.1:5310;transport=UDP>',
        "expires": "1796611832",
    }
    event = translate("fs1", expire)
    assert isinstance(event, PhoneUnregistered) and (event.user, event.why) == ("1000", "expired")


def test_show_registrations_replies_of_the_real_switch_parse():
    text = (CAPTURES / "sofia-register-gateway.txt").read_text()
    first = api_reply("sofia-register-gateway.txt", "show registrations as json")
    snapshot = registrations_from_show("fs1", first, T0)
    assert snapshot.rows == (
        RegistrationRow(
            "1000",
            "127.0.0.1",
            "1-29515@127.0.0.1",
            "sofia/internal/sip:1000@127.0.0.1:5310;transport=UDP",
            "127.0.0.1",
            1796611832.0,
        ),
    )
    empty = text.rsplit(">>> SENT\napi show registrations as json\n", 1)[1]
    assert '{"row_count": 0}' in empty
    assert registrations_from_show("fs1", '{"row_count": 0}\n', T0).rows == ()
    with pytest.raises(ValueError, match="not a json api reply"):
        registrations_from_show("fs1", "-ERR no reply\n", T0)


def _reg(user="1101", call_id="c1", at=T0):
    return PhoneRegistered("fs1", user, "acd.local", call_id, "<sip:x>", "192.0.2.9", "ua", at)


def _unreg(user="1101", call_id="c1", why="unregistered", at=T0):
    return PhoneUnregistered("fs1", user, "acd.local", call_id, why, at)


def _snapshot(*users, expires=0.0, at=T0):
    rows = tuple(RegistrationRow(u, "acd.local", "c1", "url", "ip", expires) for u in users)
    return RegistrationsSnapshot("fs1", rows, at)


def test_nothing_is_known_before_the_first_snapshot_then_absent_means_not_registered():
    regs = Registrations()
    assert regs.registered("1101") is None
    assert regs.apply(_snapshot("1102")) == {"1102"}
    assert regs.registered("1101") is False and regs.registered("1102") is True


def test_one_registration_per_user_as_sofia_keeps_it_by_default():
    regs = Registrations()
    regs.apply(_reg(call_id="boot-1"))
    assert regs.apply(_reg(call_id="boot-2")) == set()  # rebooted: the new one replaces it
    assert regs.apply(_unreg(call_id="other")) == {"1101"}  # un-REGISTER: whatever call ID
    regs.apply(_reg(call_id="boot-3"))
    assert regs.apply(_unreg(call_id="boot-2", why="expired")) == set()  # an old row's expiry
    assert regs.registered("1101") is True
    assert regs.apply(_unreg(call_id="boot-3", why="expired")) == {"1101"}


def test_a_phone_with_two_devices_stays_registered_until_both_leave():
    regs = Registrations(multiple=True)  # a profile with multiple-registrations
    regs.apply(_reg(call_id="desk"))
    assert regs.apply(_reg(call_id="soft")) == set()  # a second device: nothing changes
    assert regs.apply(_unreg(call_id="desk")) == set()
    assert regs.apply(_unreg(call_id="soft", why="expired")) == {"1101"}
    assert regs.phones["1101"].why == "expired"
    assert regs.apply(_reg(call_id="desk")) == {"1101"}


@pytest.mark.parametrize("event_first", [True, False], ids=["event-then-reply", "reply-then-event"])
def test_a_register_and_the_resync_reply_in_either_order_leave_the_phone_registered(event_first):
    # the reply was taken after the REGISTER (event first: it lists the phone) or before it
    # (reply first: it does not); either way the phone is registered at the end
    regs = Registrations()
    if event_first:
        regs.apply(_reg())
        regs.apply(_snapshot("1101"))
    else:
        regs.apply(_snapshot())
        regs.apply(_reg())
    assert regs.registered("1101") is True


@pytest.mark.parametrize("event_first", [True, False], ids=["event-then-reply", "reply-then-event"])
def test_an_unregister_and_the_resync_reply_in_either_order_leave_it_unregistered(event_first):
    regs = Registrations()
    regs.apply(_reg())
    if event_first:
        regs.apply(_unreg())
        regs.apply(_snapshot())
    else:
        regs.apply(_snapshot("1101"))  # taken before the phone left
        regs.apply(_unreg())
    assert regs.registered("1101") is False


def test_an_expiry_before_a_reply_that_still_lists_the_registration_wins():
    # sofia fires `expire` while it selects the expired rows and deletes them after: a reply
    # taken in between lists a registration whose expiry has passed
    regs = Registrations()
    regs.apply(_reg())
    regs.apply(_unreg(why="expired"))
    regs.apply(_snapshot("1101", expires=T0.timestamp() - 1))
    assert regs.registered("1101") is False
    regs.apply(_snapshot("1101", expires=T0.timestamp() + 3600))
    assert regs.registered("1101") is True
